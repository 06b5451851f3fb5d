import { describe, expect, it } from 'vitest';
import apiAnalytics from '../../../apps/api-analytics.ts';
import { type App, defineApp, minutes, session, stream } from '../../../processor/app/define.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, requestFields, streamsOf } from './stream-fixtures.ts';

const source = stream<Request>('Request');

/** The first aggregation's grouping, as compiled. */
function groupingOf(app: App) {
  const streams = streamsOf(
    fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
    fakeStream('ApiStats', [], { partitionKey: 'userTenantDomain' }),
    fakeStream('Out', [], { partitionKey: 'userTenantDomain' }),
  );
  return [...compileTopology(app, streams).groupings.values()][0]!;
}

describe('app DSL', () => {
  it('records the seed app as a graph: group fields, window, aggregation, emit mode, sink', () => {
    const nodes = apiAnalytics.graph.nodes;
    expect(apiAnalytics.id).toBe('api-analytics');
    expect(apiAnalytics.source).toBe('Request');
    expect(nodes.map((node) => node.kind)).toEqual(['source', 'aggregate', 'map', 'sink']);
    const grouping = groupingOf(apiAnalytics);
    expect(grouping.fields).toEqual(['userTenantDomain', 'apiName']);
    expect(grouping.window).toEqual({ kind: 'tumbling', sizeMs: 60_000, graceMs: 10_000 });
    expect(grouping.emit).toBe('onWindowClose');
    expect(nodes[3]).toMatchObject({ kind: 'sink', stream: 'ApiStats', inputs: [2] });
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
    const aggregation = groupingOf(app).aggregation;
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
