/**
 * One app per store kind, for the restore-after-SIGKILL test: the same aggregation (requests,
 * throttled requests and the slowest response per tenant and API) kept in a tumbling, hopping or
 * session window store, a running aggregate, or a custom aggregator's JSON state, written to
 * ApiStats. The processor child picks the kind from SLUICE_TEST_STORE_KIND (an app module has one
 * default export; the test starts the same module five ways).
 */

import type { AggregationBuilders } from '../../../../processor/app/aggregations.ts';
import { defineApp, hopping, seconds, session, stream, tumbling } from '../../../../processor/app/define.ts';
import type { ApiStats, Request } from '../../../../schemas/event-types.ts';

export const storeKinds = ['tumbling', 'hopping', 'session', 'running', 'custom'] as const;
export type StoreKind = (typeof storeKinds)[number];

export const tumblingMs = seconds(10);
export const hoppingWindows = { size: seconds(20), advance: seconds(10) };
export const sessionGapMs = seconds(1);

/** What every kind aggregates per tenant and API (the test's reference computes the same). */
export interface Totals {
  requests: number;
  throttled: number;
  slowest: number;
}

/** The ApiStats row of a window (or of a running aggregate: window 0..0) with these totals. */
export const stats = (
  key: { userTenantDomain: string; apiName: string },
  window: { start: number; end: number },
  totals: Totals,
): ApiStats => ({
  ...key,
  windowStart: window.start,
  windowEnd: window.end,
  requests: totals.requests,
  throttledRequests: totals.throttled,
  minResponseTime: 0,
  avgResponseTime: 0,
  maxResponseTime: totals.slowest,
  avgBackendTime: 0,
});

export function storeKindApp(kind: StoreKind) {
  return defineApp({
    id: `store-kind-${kind}`,
    source: stream<Request>('Request'),
    pipeline: (requests) => {
      const grouped = requests.groupBy('userTenantDomain', 'apiName');
      const totals = (agg: AggregationBuilders<Request>) => ({
        requests: agg.count(),
        throttled: agg.count((r) => r.throttledOut),
        slowest: agg.max((r) => r.responseTime),
      });
      const sink = stream<ApiStats>('ApiStats');
      const windowed = (spec: Parameters<typeof grouped.window>[0]) =>
        grouped
          .window(spec)
          .aggregate(totals)
          .map(({ key, window, value }) => stats(key, window, { ...value, slowest: value.slowest ?? 0 }))
          .to(sink);
      switch (kind) {
        case 'tumbling':
          return windowed(tumbling({ size: tumblingMs }));
        case 'hopping':
          return windowed(hopping(hoppingWindows));
        case 'session':
          return windowed(session({ gap: sessionGapMs }));
        case 'running':
          return grouped
            .aggregate(totals)
            .map(({ key, value }) =>
              stats(key, { start: 0, end: 0 }, { ...value, slowest: value.slowest ?? 0 }),
            )
            .to(sink);
        case 'custom':
          return grouped
            .aggregate({
              init: (): Totals => ({ requests: 0, throttled: 0, slowest: 0 }),
              add: (state: Totals, r) => ({
                requests: state.requests + 1,
                throttled: state.throttled + (r.throttledOut ? 1 : 0),
                slowest: Math.max(state.slowest, r.responseTime),
              }),
            })
            .map(({ key, value }) => stats(key, { start: 0, end: 0 }, value))
            .to(sink);
      }
    },
  });
}

export default storeKindApp((process.env.SLUICE_TEST_STORE_KIND ?? 'tumbling') as StoreKind);
