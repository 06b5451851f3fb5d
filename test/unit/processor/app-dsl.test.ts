import { describe, expect, it } from 'vitest';
import apiAnalytics from '../../../apps/api-analytics.ts';
import { defineApp, minutes, session, stream } from '../../../processor/app/define.ts';
import type { Request } from '../../../schemas/event-types.ts';

const source = stream<Request>('Request');

describe('app DSL', () => {
  it('records the seed app as a plan: group fields, window, aggregation, emit mode, sink', () => {
    const grouping = apiAnalytics.plan.grouping!;
    expect(apiAnalytics.id).toBe('api-analytics');
    expect(apiAnalytics.source).toBe('Request');
    expect(grouping.fields).toEqual(['userTenantDomain', 'apiName']);
    expect(grouping.window).toEqual({ kind: 'tumbling', sizeMs: 60_000, graceMs: 10_000 });
    expect(grouping.emit).toBe('onWindowClose');
    expect(apiAnalytics.plan.sink).toBe('ApiStats');
    expect(apiAnalytics.plan.post).toHaveLength(1);
  });

  it('folds, merges and finishes every built-in aggregation', () => {
    const app = defineApp({
      id: 'all-aggregations',
      source,
      pipeline: (events) =>
        events
          .groupBy('userTenantDomain')
          .window(session({ gap: minutes(5) }))
          .aggregate((agg) => ({
            n: agg.count(),
            throttled: agg.count((e) => e.throttledOut),
            total: agg.sum((e) => e.responseTime),
            low: agg.min((e) => e.responseTime),
            high: agg.max((e) => e.responseTime),
            mean: agg.avg((e) => e.responseTime),
            users: agg.distinctCount((e) => e.username),
            longest: agg.reduce({
              init: () => '',
              add: (s: string, e) => (e.apiName.length > s.length ? e.apiName : s),
              merge: (a: string, b: string) => (a.length >= b.length ? a : b),
            }),
          }))
          .map(({ value }) => ({ ...value, userTenantDomain: 't' }))
          .to(stream('Out')),
    });
    const aggregation = app.plan.grouping!.aggregation;
    const event = (responseTime: number, username: string, throttledOut: boolean, apiName: string) =>
      ({ responseTime, username, throttledOut, apiName }) as Request;
    let left = aggregation.init();
    left = aggregation.add(left, event(10, 'ann', false, 'a'));
    left = aggregation.add(left, event(30, 'bob', true, 'abc'));
    let right = aggregation.init();
    right = aggregation.add(right, event(5, 'ann', false, 'ab'));
    expect(aggregation.result(left)).toEqual({
      n: 2,
      throttled: 1,
      total: 40,
      low: 10,
      high: 30,
      mean: 20,
      users: 2,
      longest: 'abc',
    });
    expect(aggregation.result(aggregation.merge(left, right))).toEqual({
      n: 3,
      throttled: 1,
      total: 45,
      low: 5,
      high: 30,
      mean: 15,
      users: 2,
      longest: 'abc',
    });
    // JSON round trip: states are what the store and changelog keep
    expect(aggregation.result(JSON.parse(JSON.stringify(left)))).toEqual(aggregation.result(left));
  });

  it('refuses an invalid app id and a hopping size that is not a multiple of advance', async () => {
    expect(() => defineApp({ id: 'Bad Id', source, pipeline: (e) => e.to(source) })).toThrow(/app id/);
    const { hopping } = await import('../../../processor/app/define.ts');
    expect(() => hopping({ size: 60_000, advance: 25_000 })).toThrow(/multiple/);
  });
});
