/**
 * sluice/testing with an app of two sub-topologies (apps/api-usage.ts: a groupBy that repartitions
 * by apiName, and a branch to a second sink): what upstream tasks commit to the repartition topic
 * reaches the downstream tasks, and both sinks equal the reference computation the processor's
 * own integration test uses (records that reach their API's partition behind its stream time by
 * more than the grace are dead letters there, as in the processor).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import apiUsage from '../../../apps/api-usage.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import { decodeRepartitionValue } from '../../../processor/app/repartition-codec.ts';
import type { ApiUsage, ThrottleAlert } from '../../../schemas/event-types.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import {
  byAlertKey,
  byUsageKey,
  expectedAlerts,
  expectedUsage,
  ticks,
} from '../../integration/processor/usage-reference.ts';

const config = resolve(import.meta.dirname, '..', '..', '..', 'sluice.yaml');
const tenants = 4;
const apis = 3;
const closedAt = 10 * 60_000;

describe('sluice/testing driver, an app that repartitions', () => {
  it('hands repartitioned records to the downstream tasks; both sinks equal the reference', async () => {
    const events = takeRequests({ seed: 13, tenants, apis, startTime: 0, stepMs: 40 }, 6_000);
    const input: RequestEvent[] = [
      ...events,
      ...ticks(
        events[0]!,
        Array.from({ length: tenants }, (_, index) => tenantName(index)),
        Array.from({ length: apis }, (_, index) => `api-${index}`),
        closedAt,
      ),
    ];
    const driver = await createTestDriver(apiUsage, { config });
    // piped in small chunks, as a steady feed arrives, so upstream partitions stay close in event time
    for (let i = 0; i < input.length; i += 50) await driver.pipe(input.slice(i, i + 50));

    const late = new Set(
      driver
        .deadLetters()
        .filter((letter) => letter.stage === 'late')
        .map((letter) => JSON.stringify(decodeRepartitionValue(letter.value))),
    );
    expect(late.size).toBeLessThan(input.length / 20);
    const onTime = input.filter((event) => !late.has(JSON.stringify(event)));
    const usage = driver.output<ApiUsage>('ApiUsage').sort(byUsageKey);
    const wantUsage = expectedUsage(onTime, closedAt).sort(byUsageKey);
    expect(wantUsage.length).toBeGreaterThanOrEqual(apis * 3);
    expect(usage).toEqual(wantUsage);
    const wantAlerts = expectedAlerts(input, closedAt).sort(byAlertKey);
    expect(wantAlerts.length).toBeGreaterThan(0);
    expect(driver.output<ThrottleAlert>('ThrottleAlerts').sort(byAlertKey)).toEqual(wantAlerts);
    expect(() => driver.output()).toThrow(/writes to .*ApiUsage.*: name the one to read/);
    await driver.close();
  });
});
