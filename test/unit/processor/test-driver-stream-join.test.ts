/**
 * sluice/testing runs a stream–stream join whose two sides come from one input (two branches of
 * the app's source), its output feeding a windowed aggregation: the pairs, the left join's null
 * result only once the left record's window closed (with the left record's time, so a downstream
 * window must still be open then), and the right side's unmatched record dropped. Apps whose join reads a second input stream are refused by the driver (it feeds one).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDriver } from '../../../lib/testing.ts';
import { defineApp, minutes, seconds, stream, tumbling } from '../../../processor/app/define.ts';
import type { ApiStats, Request } from '../../../schemas/event-types.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';

const config = resolve(import.meta.dirname, '..', '..', '..', 'sluice.yaml');
const base = takeRequests({ seed: 5, tenants: 1, apis: 1, startTime: 0, stepMs: 1 }, 1)[0]!;
const request = (userTenantDomain: string, requestTimestamp: number, throttledOut: boolean): Request => ({
  ...base,
  userTenantDomain,
  requestTimestamp,
  throttledOut,
});

/** Per tenant and minute: how many left-join results, and how many of them found a throttled partner. */
const pairs = defineApp({
  id: 'pairs',
  source: stream<Request>('Request'),
  pipeline: (requests) => {
    const { throttled, rest } = requests.branch({ throttled: (r) => r.throttledOut, rest: () => true });
    rest
      .leftJoin(throttled, {
        on: 'userTenantDomain',
        within: seconds(1),
        joiner: (ok, slow) => ({ userTenantDomain: ok.userTenantDomain, partnered: slow !== null }),
      })
      .groupBy('userTenantDomain')
      .window(tumbling({ size: minutes(1) }))
      .aggregate((agg) => ({ n: agg.count(), partnered: agg.count((pair) => pair.partnered) }))
      .map(
        ({ key, window, value }): ApiStats => ({
          userTenantDomain: key.userTenantDomain,
          apiName: 'pairs',
          windowStart: window.start,
          windowEnd: window.end,
          requests: value.n,
          throttledRequests: value.partnered,
          minResponseTime: 0,
          avgResponseTime: 0,
          maxResponseTime: 0,
          avgBackendTime: 0,
        }),
      )
      .to(stream<ApiStats>('ApiStats'));
  },
});

describe('sluice/testing driver with a stream–stream join', () => {
  it('joins two branches of the input and aggregates the pairs', async () => {
    const driver = await createTestDriver(pairs, { config });
    await driver.pipe([
      request('a', 1_000, false),
      request('a', 1_500, true), // joins the request at 1 000
      request('a', 3_000, true), // 2 000 from it: no pair; a right record alone gives nothing
      request('a', 5_000, false), // no partner: (5 000, null) once stream time passes 6 000
    ]);
    expect(driver.output()).toEqual([]);
    // stream time passes 6 000 (a throttled request: a right record, 1 001 from the last left one):
    // the null result comes now, with time 5 000, while its minute is still open downstream
    await driver.pipe([request('a', 6_001, true)]);
    // far later: the pairs' window closes
    await driver.pipe([request('a', 600_000, false)]);
    expect(driver.output<ApiStats>()).toEqual([
      expect.objectContaining({ userTenantDomain: 'a', windowStart: 0, requests: 2, throttledRequests: 1 }),
    ]);
    expect(driver.deadLetters()).toEqual([]);
    await driver.close();
  });

  it('refuses an app whose task reads a second input stream, saying why', async () => {
    const twoInputs = defineApp({
      id: 'two-inputs',
      source: stream<Request>('Request'),
      pipeline: (requests, sources) =>
        requests.merge(sources.from(stream<Request>('Request'))).to(stream<Request>('Request')),
    });
    await expect(createTestDriver(twoInputs, { config })).rejects.toThrow(
      /the test driver feeds one input stream; two-inputs reads requests, requests in one task: test it against Kafka/,
    );
  });
});
