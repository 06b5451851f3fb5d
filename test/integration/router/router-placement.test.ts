import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaService } from '../../../dev/kafka-service.ts';
import { devSettings } from '../../../dev/settings.ts';
import { takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { testServices } from '../../env/services.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

/** Partitions per key as computed by Kafka's own Java client jar. */
async function javaPartitions(keys: string[], partitions: number): Promise<Map<string, number>> {
  const settings = devSettings();
  const version = testServices().kafkaVersionForPrivateBrokers;
  const cacheDir = testServices().cacheDir ?? settings.cacheDir;
  await createKafkaService({ version, port: 0, controllerPort: 0, cacheDir, dir: cacheDir }).install(
    () => undefined,
  );
  const libs = join(cacheDir, `kafka-${version}`, 'libs');

  // Utils logs through slf4j: the whole lib directory is the classpath
  const { stdout } = await promisify(execFile)('java', [
    '-cp',
    `${libs}/*`,
    join(import.meta.dirname, 'Partitions.java'),
    String(partitions),
    ...keys,
  ]);
  return new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [key, partition] = line.split(' ');
        return [key!, Number(partition)];
      }),
  );
}

describe('router placement', () => {
  let fixture: RouterFixture;
  beforeAll(async () => {
    fixture = await createRouterFixture({ partitions: 6 });
  });
  afterAll(async () => fixture?.cleanup());

  it("puts every event of a tenant on the partition Kafka's Java client computes for it", async () => {
    const router = await fixture.startRouter();
    const events = takeRequests(
      { seed: 1, tenants: 50, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
      2000,
    );
    for (let i = 0; i < events.length; i += 250) {
      expect((await postEvents(router.url, events.slice(i, i + 250))).status).toBe(202);
    }
    const tenants = Array.from({ length: 50 }, (_, i) => tenantName(i));
    const expected = await javaPartitions(tenants, 6);
    const records = await fixture.records();
    expect(records).toHaveLength(events.length);
    const partitionsOf = new Map<string, Set<number>>();
    for (const record of records) {
      const tenant = record.key!.toString();
      partitionsOf.set(tenant, (partitionsOf.get(tenant) ?? new Set()).add(record.partition));
    }
    for (const [tenant, partitions] of partitionsOf) {
      expect([...partitions]).toEqual([expected.get(tenant)]);
    }
    expect(new Set([...partitionsOf.values()].flatMap((set) => [...set])).size).toBeGreaterThan(3);
  });
});
