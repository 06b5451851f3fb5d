/**
 * An operator after an aggregation that throws for one emission: that emission becomes a dead
 * letter (stage `emit`) holding the emission itself as JSON, keyed by its group, at the place of
 * the record that closed it; the other emissions go on to the sink.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDriver } from '../../../lib/testing.ts';
import { defineApp, minutes, stream, tumbling } from '../../../processor/app/define.ts';
import { encodeGroup } from '../../../processor/state/key-codec.ts';
import type { ApiStats, Request } from '../../../schemas/event-types.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';

const config = resolve(import.meta.dirname, '..', '..', '..', 'sluice.yaml');
const refused = 'tenant-1.example.com';

const app = defineApp({
  id: 'emission-dead-letter',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .groupBy('userTenantDomain')
      .window(tumbling({ size: minutes(1) }))
      .aggregate((agg) => ({ requests: agg.count() }))
      .map(({ key, window, value }): ApiStats => {
        if (key.userTenantDomain === refused) throw new Error('no stats for this tenant');
        return {
          userTenantDomain: key.userTenantDomain,
          apiName: 'all',
          windowStart: window.start,
          windowEnd: window.end,
          requests: value.requests,
          throttledRequests: 0,
          minResponseTime: 0,
          avgResponseTime: 0,
          maxResponseTime: 0,
          avgBackendTime: 0,
        };
      })
      .to(stream<ApiStats>('ApiStats')),
});

describe('an emission that a later operator refuses', () => {
  it('is a dead letter of stage emit holding the emission as JSON, keyed by its group', async () => {
    const events = takeRequests({ seed: 3, tenants: 3, apis: 1, startTime: 0, stepMs: 1000 }, 200);
    const driver = await createTestDriver(app, { config });
    await driver.pipe(events);
    const refusedLetters = driver.deadLetters().filter((letter) => letter.stage === 'emit');
    const closedWindows = (tenant: string) =>
      new Set(
        events
          .filter((event) => event.userTenantDomain === tenant)
          .map((event) => Math.floor(event.requestTimestamp / 60_000)),
      );
    expect(refusedLetters.length).toBeGreaterThan(0);
    for (const letter of refusedLetters) {
      expect(letter.errorMessage).toMatch(/no stats for this tenant/);
      expect(letter.key).toBe(encodeGroup([refused]).toString());
      const emission = JSON.parse(letter.value!.toString('utf8'));
      expect(emission).toMatchObject({
        key: { userTenantDomain: refused },
        window: { start: expect.any(Number) },
      });
      expect(closedWindows(refused).has(emission.window.start / 60_000)).toBe(true);
    }
    const stats = driver.output<ApiStats>();
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.every((row) => row.userTenantDomain !== refused)).toBe(true);
    await driver.close();
  });
});
