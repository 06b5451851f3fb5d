/**
 * `sluice status` and the processors' /v1/status for an app with a repartition: the lag of every
 * topic the app's group reads (input and repartition topic), exact while the processors are
 * down, and each holder's tasks by task id (`0_p`, `1_p`), in cluster mode with two slots. The
 * repartition topic has 6 partitions for the input's 4 (processor.repartitionPartitions): a slot
 * owns partition p of each sub-topology with p mod 2 = its slot, and a start that would need
 * another count than the existing topic's is refused, saying what to do.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { slotCluster } from '../../e2e/slot-cluster.ts';
import { freePort, runSluice } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture, type ProcessorProcess } from './fixture.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const partitions = 4;
const events = (seed: number, count: number) =>
  takeRequests({ seed, tenants: 8, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 40 }, count);

describe('status of an app with a repartition', () => {
  let fixture: AnalyticsFixture;
  let actives: ProcessorProcess[];
  let repartition: string;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'store-kinds-app.ts'),
      slots: 2,
      partitions,
      processor: { repartitionPartitions: { 'per-api': 6 } },
      extraStreams: {
        TenantCounts: { schema: 'schemas/TenantCount.avsc', partitionKey: 'userTenantDomain' },
      },
    });
    repartition = `${fixture.appId}-per-api-repartition`;
    actives = (await slotCluster(fixture, 2, partitions).deploy(0)).actives;
    await fixture.produce(events(1, 2000));
    await fixture.waitCaughtUp();
    await waitFor('the repartition topic consumed', () => fixture.caughtUp(repartition));
  }, 120_000);
  afterAll(async () => fixture?.cleanup());

  const status = async (...extra: string[]) => {
    const run = await runSluice(['status', '--app', fixture.appId, '--config', fixture.configFile, ...extra]);
    expect(run.code, run.stderr).toBe(0);
    return run.stdout;
  };

  it('shows every topic the group reads and every task by its id', async () => {
    const report = JSON.parse(await status('--json', '--tasks'));
    expect(report.topics).toEqual([
      { topic: fixture.inputTopic, kind: 'input', lag: 0 },
      // exactly once: the last commit marker stays behind the committed offset
      { topic: repartition, kind: 'repartition', lag: expect.any(Number) },
    ]);
    expect(report.topics[1].lag).toBeLessThanOrEqual(6);
    expect(
      report.partitions.map((p: { topic: string; partition: number }) => `${p.topic}/${p.partition}`),
    ).toEqual([
      ...[0, 1, 2, 3].map((p) => `${fixture.inputTopic}/${p}`),
      ...[0, 1, 2, 3, 4, 5].map((p) => `${repartition}/${p}`),
    ]);
    // a slot owns partition p of every sub-topology with p mod 2 = slot
    const tasksBySlot = Object.fromEntries(
      report.holders.map((holder: { slot: number; tasks: { task: string; state: string }[] }) => [
        holder.slot,
        holder.tasks.map((task) => `${task.task} ${task.state}`).sort(),
      ]),
    );
    expect(tasksBySlot).toEqual({
      0: ['0_0 running', '0_2 running', '1_0 running', '1_2 running', '1_4 running'],
      1: ['0_1 running', '0_3 running', '1_1 running', '1_3 running', '1_5 running'],
    });
    // the processors' own status API says the same (the status page renders it)
    // biome-ignore lint/suspicious/noExplicitAny: checked by the assertions
    const own: any = await (await fetch(`${actives[0]!.address}/v1/status`)).json();
    expect(own.report.topics.map((t: { topic: string }) => t.topic)).toEqual([
      fixture.inputTopic,
      repartition,
    ]);
    expect(own.instance.tasks.map((t: { task: string }) => t.task).sort()).toEqual([
      '0_0',
      '0_2',
      '1_0',
      '1_2',
      '1_4',
    ]);

    const text = await status('--tasks');
    expect(text).toContain(`input ${fixture.inputTopic}, lag 0`);
    expect(text).toContain(`repartition ${repartition}, lag`);
    expect(text).toMatch(/tasks of slot 1's holder .*\n( {2}\S+ +running\n){5}/);
  });

  it('counts the input lag exactly while no processor runs, and says a holder is unreachable', async () => {
    for (const active of actives) {
      active.signal('SIGKILL');
      await active.exited;
    }
    await fixture.produce(events(2, 300));
    const report = JSON.parse(await status('--json', '--tasks'));
    expect(report.topics[0]).toEqual({ topic: fixture.inputTopic, kind: 'input', lag: 300 });
    expect(report.totalLag).toBe(300 + report.topics[1].lag);
    // the leases still name the killed holders until they expire
    for (const holder of report.holders) expect(holder.error).toEqual(expect.any(String));
  });

  it('refuses to start with another count than the existing repartition topic, saying what to do', async () => {
    const config = JSON.parse(readFileSync(fixture.configFile, 'utf8'));
    const changed = join(dirname(fixture.configFile), 'eight.yaml');
    const processor = { ...config.processor, repartitionPartitions: { 'per-api': 8 } };
    writeFileSync(changed, JSON.stringify({ ...config, processor }));
    const app = join(repo, 'test', 'integration', 'processor', 'apps', 'store-kinds-app.ts');
    const port = String(await freePort());
    const run = await runSluice([
      'processor',
      '--app',
      app,
      '--app-id',
      fixture.appId,
      '--config',
      changed,
      '--port',
      port,
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(
      `${repartition} has 6 partitions but the app asks 8 for repartition "per-api" (repartition partitions in the app or processor.repartitionPartitions). ` +
        "Keep the topic's count (processor.repartitionPartitions.per-api: <its count>), or run sluice reset to delete it and the changelogs behind it, then start again with 8.",
    );
  });
});
