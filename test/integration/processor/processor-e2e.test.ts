import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { expectedStats, sortStats } from './reference.ts';

const start = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('api-analytics end to end (exactly once)', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture();
  });
  afterAll(async () => fixture?.cleanup());

  it('outputs exactly the expected aggregates; late and undecodable records go to the dead-letter topic', async () => {
    const events = takeRequests(
      { seed: 7, tenants: 40, apis: 5, startTime: start, stepMs: 40, jitterMs: 8_000, lateShare: 0.01 },
      12_000,
    );
    await fixture.produce(events.slice(0, 6000));
    await fixture.produceGarbage(5, 'tenant-1.example.com');
    await fixture.produce(events.slice(6000));

    const processor = await fixture.startProcessor();
    await fixture.waitCaughtUp();

    const expected = expectedStats(await fixture.inputRecords());
    expect(expected.stats.length).toBeGreaterThan(500);
    expect(expected.late.length).toBeGreaterThan(20);
    expect(expected.bad).toHaveLength(5);
    expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);

    const deadLetters = await fixture.deadLetters();
    const byStage = (stage: string) =>
      deadLetters.filter((record) => record.headers['sluice.dlq.stage']?.toString() === stage);
    expect(byStage('decode')).toHaveLength(5);
    expect(byStage('late')).toHaveLength(expected.late.length);
    expect(byStage('decode')[0]!.value!.toString()).toMatch(/^not avro/);
    expect(byStage('decode')[0]!.headers['sluice.dlq.topic']?.toString()).toBe(fixture.inputTopic);
    expect(
      new Set(
        byStage('late').map((r) => `${r.headers['sluice.dlq.partition']}/${r.headers['sluice.dlq.offset']}`),
      ),
    ).toEqual(new Set(expected.late.map((r) => `${r.partition}/${r.offset}`)));

    // the metrics tell the same story, per partition
    const metrics = await (await fetch(`${processor.address}/metrics`)).text();
    const samples = (name: string) =>
      metrics
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .map((line) => Number(line.split(' ').pop()));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(sum(samples('sluice_processor_records_in_total'))).toBe(events.length + 5);
    expect(sum(samples('sluice_processor_dead_letters_total'))).toBe(5 + expected.late.length);
    expect(sum(samples('sluice_processor_records_out_total'))).toBe(expected.stats.length);
    expect(samples('sluice_processor_store_bytes')).toHaveLength(4);
    expect(samples('sluice_processor_store_bytes').every((bytes) => bytes > 0)).toBe(true);
    expect(samples('sluice_processor_cache_entries')).toHaveLength(4);
    expect(sum(samples('sluice_processor_cache_entries'))).toBeGreaterThanOrEqual(expected.open.length);
    expect(await processor.stop()).toBe(0);
  });
});
