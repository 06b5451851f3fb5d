import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { testServices } from '../../env/services.ts';
import { runSluice } from '../../env/sluice-process.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from '../processor/fixture.ts';
import { type Stats, sortStats } from '../processor/reference.ts';

describe('sluice reset', () => {
  let fixture: AnalyticsFixture;
  let firstRun: Stats[];
  const resetArgs = () => ['reset', '--app', fixture.appId, '--config', fixture.configFile];

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 2 });
    await fixture.produce(
      takeRequests(
        { seed: 8, tenants: 20, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 30, jitterMs: 5000 },
        6000,
      ),
    );
    const processor = await fixture.startProcessor();
    await fixture.waitCaughtUp();
    expect(await processor.stop()).toBe(0);
    firstRun = sortStats(await fixture.outputStats());
    expect(firstRun.length).toBeGreaterThan(100);
  });
  afterAll(async () => fixture?.cleanup());

  it('is refused while a processor of the app runs', async () => {
    const processor = await fixture.startProcessor({ name: 'running' });
    const refused = await runSluice(resetArgs());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/app .* is running: its consumer group has 1 member/);
    expect(await processor.stop()).toBe(0);
  });

  it('shows the plan with --dry-run and changes nothing', async () => {
    const before = await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic);
    const dryRun = await runSluice([...resetArgs(), '--dry-run', '--json']);
    expect(dryRun.code).toBe(0);
    const plan = JSON.parse(dryRun.stdout);
    expect(plan.inputTopic).toBe(fixture.inputTopic);
    expect(plan.offsets.map((entry: { to: string }) => entry.to)).toEqual(['0', '0']);
    expect(plan.deleteTopics).toEqual([fixture.changelogTopic]);
    expect(plan.deleteDirectories).toEqual([join(fixture.stateDir, fixture.appId)]);
    expect(await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic)).toEqual(before);
    expect(await fixture.admin.listTopics()).toContain(fixture.changelogTopic);
  });

  it('rewinds, deletes the changelog and local state; a rerun gives the same output again', async () => {
    const outputEnd = await fixture.admin.topicOffsets(fixture.outputTopic);
    const reset = await runSluice(resetArgs());
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/→ 0/);
    expect(
      (await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic)).map((e) => e.offset),
    ).toEqual(['0', '0']);
    expect(await fixture.admin.listTopics()).not.toContain(fixture.changelogTopic);
    expect(existsSync(join(fixture.stateDir, fixture.appId))).toBe(false);

    const processor = await fixture.startProcessor({ name: 'rerun' });
    await fixture.waitCaughtUp();
    expect(await processor.stop()).toBe(0);
    const registry = createSchemaRegistryClient(testServices().schemaRegistryUrl);
    const rerun = (await readAll(testKafka(), fixture.outputTopic)).filter(
      (record) =>
        BigInt(record.offset) >= BigInt(outputEnd.find((e) => e.partition === record.partition)!.high),
    );
    const rerunStats = await Promise.all(
      rerun.map(async (record) => (await registry.decode(record.value!)) as Stats),
    );
    expect(sortStats(rerunStats)).toEqual(firstRun);
  });
});
