/**
 * sluice/testing runs the processor's code, not a model of it: the same input through the test
 * driver and through a real processor against Kafka gives exactly the same output records, dead
 * letters (stage, partition, offset) and open windows, for the shipped windowed app; for the
 * running count (emitted on every update, so its intermediate records follow fetch batches) the
 * same last count per key and the same store.
 */

import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import apiAnalytics from '../../../apps/api-analytics.ts';
import keyedCount from '../../../apps/keyed-count.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import type { TenantCount } from '../../../schemas/event-types.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { type Stats, sortStats } from './reference.ts';

const start = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('test driver and processor side by side', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture();
  });
  afterAll(async () => fixture?.cleanup());

  it('give the same outputs, dead letters and open windows for api-analytics', async () => {
    const events = takeRequests(
      { seed: 11, tenants: 25, apis: 4, startTime: start, stepMs: 60, jitterMs: 8_000, lateShare: 0.01 },
      6_000,
    );
    await fixture.produce(events.slice(0, 3_000));
    await fixture.produceGarbage(3, 'tenant-2.example.com');
    await fixture.produce(events.slice(3_000));
    const processor = await fixture.startProcessor();
    await fixture.waitCaughtUp();

    // the same records, in the same order per partition, on the fixture's streams (4 partitions)
    const driver = await createTestDriver(apiAnalytics, { config: fixture.configFile });
    await driver.pipe(events.slice(0, 3_000));
    await driver.pipe(
      Array.from({ length: 3 }, (_, i) => ({
        key: 'tenant-2.example.com',
        value: Buffer.from(`not avro ${i}`),
      })),
    );
    await driver.pipe(events.slice(3_000));

    const fromKafka = sortStats(await fixture.outputStats());
    expect(fromKafka.length).toBeGreaterThan(200);
    expect(sortStats(driver.output<Stats>())).toEqual(fromKafka);

    const letters = (await fixture.deadLetters()).map((record) => ({
      stage: record.headers['sluice.dlq.stage']?.toString(),
      at: `${record.headers['sluice.dlq.partition']}/${record.headers['sluice.dlq.offset']}`,
    }));
    const driverLetters = driver
      .deadLetters()
      .map((letter) => ({ stage: letter.stage, at: `${letter.partition}/${letter.offset}` }));
    const byPlace = (a: { at: string }, b: { at: string }) => a.at.localeCompare(b.at);
    expect(letters.some((letter) => letter.stage === 'late')).toBe(true);
    expect(driverLetters.sort(byPlace)).toEqual(letters.sort(byPlace));

    // the open windows, as the processor's state query answers them, are the driver's store
    const open = await driver.store();
    expect(open.length).toBeGreaterThan(10);
    for (const { key, state } of open) {
      const path = encodeURIComponent(JSON.stringify([key.userTenantDomain, key.apiName]));
      const response = await fetch(
        `${processor.address}/v1/apps/${fixture.appId}/stores/aggregates/keys/${path}/windows`,
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject(state);
    }
    await driver.close();
  });
});

describe('test driver and processor side by side, a running count', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(resolve(import.meta.dirname, '..', '..', '..'), 'apps', 'keyed-count.ts'),
      extraStreams: {
        TenantCounts: { schema: 'schemas/TenantCount.avsc', partitionKey: 'userTenantDomain' },
      },
    });
  });
  afterAll(async () => fixture?.cleanup());

  it('give the same last count per tenant and the same store for keyed-count', async () => {
    const events = takeRequests({ seed: 17, tenants: 40, apis: 2, startTime: start, stepMs: 50 }, 4_000);
    await fixture.produce(events);
    const processor = await fixture.startProcessor();
    await fixture.waitCaughtUp();
    const driver = await createTestDriver(keyedCount, { config: fixture.configFile });
    await driver.pipe(events);

    const last = (records: TenantCount[]) =>
      Object.fromEntries(records.map((record) => [record.userTenantDomain, record.count]));
    const fromKafka = last((await fixture.readStream('TenantCounts')) as TenantCount[]);
    expect(Object.keys(fromKafka)).toHaveLength(40);
    expect(last(driver.output<TenantCount>('TenantCounts'))).toEqual(fromKafka);

    const counts = await driver.store();
    expect(counts).toHaveLength(40);
    for (const { key, state } of counts) {
      const path = encodeURIComponent(JSON.stringify([key.userTenantDomain]));
      const response = await fetch(
        `${processor.address}/v1/apps/${fixture.appId}/stores/aggregates/keys/${path}`,
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject(state);
    }
    await driver.close();
  });
});
