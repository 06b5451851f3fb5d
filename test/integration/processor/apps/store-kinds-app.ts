/**
 * One app with a store of every kind, for state queries: tumbling, hopping and session windows,
 * a running aggregate, a custom aggregator, a second aggregation over the first's updates, and
 * a store behind a repartition (sub-topology 1). Grace (2 h) is longer than the tests' spread
 * of event time, so no window closes: every window stays in its store, queryable.
 */

import {
  defineApp,
  hopping,
  hours,
  minutes,
  seconds,
  session,
  stream,
  tumbling,
} from '../../../../processor/app/define.ts';
import type { Request, TenantCount } from '../../../../schemas/event-types.ts';

export const tumblingMs = minutes(1);
export const hopping2 = { size: minutes(2), advance: minutes(1) };
export const sessionGapMs = seconds(2);
const grace = hours(2);

export interface Pressure {
  throttled: number;
  slowest: number;
}

export default defineApp({
  id: 'store-kinds',
  source: stream<Request>('Request'),
  pipeline: (requests) => {
    requests
      .groupBy('userTenantDomain', 'apiName')
      .window(tumbling({ size: tumblingMs, grace }))
      .aggregate((agg) => ({ requests: agg.count(), responseTotal: agg.sum((r) => r.responseTime) }), {
        store: 'tumbling',
        emit: 'onUpdate',
      })
      // the second aggregation, over the first's updates: a window's count only grows, so the
      // running maximum ends at the tenant's largest window
      .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, requests: value.requests }))
      .groupBy('userTenantDomain')
      .aggregate(
        { init: () => 0, add: (peak: number, window) => Math.max(peak, window.requests) },
        { store: 'peaks' },
      )
      .map(({ key, value }): TenantCount => ({ userTenantDomain: key.userTenantDomain, count: value }))
      .to(stream<TenantCount>('TenantCounts'));
    requests
      .groupBy('userTenantDomain')
      .window(hopping({ ...hopping2, grace }))
      .aggregate((agg) => ({ requests: agg.count() }), { store: 'hopping' });
    requests
      .groupBy('userTenantDomain', 'apiName')
      .window(session({ gap: sessionGapMs, grace }))
      .aggregate((agg) => ({ requests: agg.count() }), { store: 'sessions' });
    requests
      .groupBy('userTenantDomain')
      .aggregate((agg) => ({ requests: agg.count(), maxBackend: agg.max((r) => r.backendTime) }), {
        store: 'running',
      });
    requests.groupBy('userTenantDomain').aggregate(
      {
        init: (): Pressure => ({ throttled: 0, slowest: 0 }),
        add: (state: Pressure, r) => ({
          throttled: state.throttled + (r.throttledOut ? 1 : 0),
          slowest: Math.max(state.slowest, r.responseTime),
        }),
      },
      { store: 'custom' },
    );
    // apiName alone does not keep the tenant partitioning: a repartition, sub-topology 1
    requests.groupBy('apiName').aggregate((agg) => ({ requests: agg.count() }), { store: 'per-api' });
  },
});
