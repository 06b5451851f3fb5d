/**
 * sluice/testing's driver, without Kafka: the seed app's output, dead letters and open windows
 * for generated input (out of order, some late, some garbage) equal the independent reference
 * computation the processor's own integration tests use; commits follow the driver's wall clock.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import apiAnalytics from '../../../apps/api-analytics.ts';
import { partitionForKey } from '../../../common/kafka/index.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import {
  expectedStats,
  type InputRecord,
  type Stats,
  sortStats,
} from '../../integration/processor/reference.ts';

const config = resolve(import.meta.dirname, '..', '..', '..', 'sluice.yaml');
const partitions = 6; // the Request stream's, in sluice.yaml
const start = Date.UTC(2026, 0, 1, 12, 0, 0);
const requests = takeRequests(
  { seed: 7, tenants: 20, apis: 3, startTime: start, stepMs: 200, jitterMs: 8_000, lateShare: 0.02 },
  3_000,
);

describe('sluice/testing driver', () => {
  it('computes what the reference computes: closed windows, late and undecodable records, open windows', async () => {
    const driver = await createTestDriver(apiAnalytics, { config });
    const garbage = { key: 'tenant-0.example.com', value: Buffer.from('not avro') };
    // piped in chunks, as batches arrive, with a garbage record in the middle
    await driver.pipe(requests.slice(0, 1_000));
    await driver.pipe([garbage]);
    await driver.pipe(requests.slice(1_000));

    const offsets = new Map<number, bigint>();
    const input: InputRecord[] = [...requests.slice(0, 1_000), undefined, ...requests.slice(1_000)].map(
      (event) => {
        const partition = partitionForKey(event?.userTenantDomain ?? garbage.key, partitions);
        const offset = offsets.get(partition) ?? 0n;
        offsets.set(partition, offset + 1n);
        return { partition, offset, event };
      },
    );
    const expected = expectedStats(input);
    expect(expected.stats.length).toBeGreaterThan(100);
    expect(expected.late.length).toBeGreaterThan(10);

    expect(sortStats(driver.output<Stats>())).toEqual(expected.stats);
    const deadLetters = driver.deadLetters();
    expect(deadLetters.filter((letter) => letter.stage === 'late')).toHaveLength(expected.late.length);
    expect(deadLetters.filter((letter) => letter.stage === 'decode')).toEqual([
      expect.objectContaining({ key: garbage.key, value: garbage.value, errorClass: 'DecodeError' }),
    ]);

    // the store holds the open windows: their running aggregates are the reference's open windows
    const open = (await driver.store()).flatMap(({ key, state }) =>
      'windows' in state
        ? state.windows.map((window) => ({ ...key, windowStart: window.start, ...window.value }))
        : [],
    );
    expect(
      sortStats(open as unknown as Stats[]).map(({ userTenantDomain, apiName, windowStart }) => [
        userTenantDomain,
        apiName,
        windowStart,
      ]),
    ).toEqual(
      expected.open.map(({ userTenantDomain, apiName, windowStart }) => [
        userTenantDomain,
        apiName,
        windowStart,
      ]),
    );
    await driver.close();
  });

  it('shows output only once a commit is due on its wall clock (a task commits its first batch at once)', async () => {
    const driver = await createTestDriver(apiAnalytics, { config, commitIntervalMs: 1_000 });
    const half = Math.floor(requests.length / 2);
    await driver.pipe(requests.slice(0, half));
    const first = driver.output().length;
    await driver.pipe(requests.slice(half));
    expect(driver.output().length).toBe(first);
    await driver.advanceWallClock(999);
    expect(driver.output().length).toBe(first);
    await driver.advanceWallClock(1);
    expect(driver.output().length).toBeGreaterThan(first + 100);
    await driver.close();
  });
});
