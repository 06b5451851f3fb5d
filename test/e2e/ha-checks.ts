/** What every high-availability test checks after its fault: output exact, epochs in order. */
import { expect } from 'vitest';
import { takeRequests } from '../../schemas/request-generator.ts';
import { readAll, testKafka } from '../env/clients.ts';
import type { AnalyticsFixture } from '../integration/processor/fixture.ts';
import { expectedStats, sortStats } from '../integration/processor/reference.ts';

/** A reproducible request stream: 30 tenants × 4 APIs, 20 ms of event time apart. */
export const requestEvents = (seed: number, count: number) =>
  takeRequests(
    { seed, tenants: 30, apis: 4, startTime: Date.UTC(2026, 0, 1), stepMs: 20, jitterMs: 8_000 },
    count,
  );

/** Once every input record is committed, the output equals the reference computation. */
export async function assertExactOutput(fixture: AnalyticsFixture): Promise<void> {
  await fixture.waitCaughtUp(120_000);
  const expected = expectedStats(await fixture.inputRecords());
  expect(expected.stats.length).toBeGreaterThan(200);
  expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
}

/** The `sluice.epoch` header of each changelog record of one partition, in offset order. */
export async function changelogEpochs(
  fixture: AnalyticsFixture,
  partition: number,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<{ epoch: number; timestamp: number }[]> {
  const records = await readAll(testKafka(), fixture.changelogTopic, isolation);
  return records
    .filter((record) => record.partition === partition)
    .map((record) => ({
      epoch: Number(record.headers['sluice.epoch']?.toString()),
      timestamp: Number(record.timestamp),
    }));
}

/**
 * Epochs up to `stale` found after the first record of a newer epoch: a stale owner committed
 * after its successor had (must be empty). Undefined when no newer epoch committed at all.
 */
export function staleEpochsAfterTakeover(
  epochsInOrder: readonly number[],
  stale: number,
): number[] | undefined {
  const firstNew = epochsInOrder.findIndex((epoch) => epoch > stale);
  if (firstNew < 0) return undefined;
  return epochsInOrder.slice(firstNew).filter((epoch) => epoch <= stale);
}

/** In every changelog partition, once an epoch has committed, no older epoch commits again. */
export async function assertEpochsNeverGoBack(
  fixture: AnalyticsFixture,
  kafkaBrokers?: string,
): Promise<void> {
  const records = await readAll(testKafka(kafkaBrokers), fixture.changelogTopic);
  const partitions = [...new Set(records.map((record) => record.partition))];
  expect(partitions.length).toBeGreaterThan(0);
  for (const partition of partitions) {
    const epochs = records
      .filter((record) => record.partition === partition)
      .map((record) => Number(record.headers['sluice.epoch']?.toString()));
    const regressions = epochs.filter(
      (epoch, index) => index > 0 && epoch < Math.max(...epochs.slice(0, index)),
    );
    expect(regressions, `partition ${partition} epochs ${[...new Set(epochs)].join(',')}`).toEqual([]);
  }
}
