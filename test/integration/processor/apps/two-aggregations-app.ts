/**
 * Two aggregations in one sub-topology, the second over the first's results: requests per
 * tenant and API in 10 s windows, then per tenant the running maximum of those windows (a
 * custom aggregator). The second groupBy keeps the partition key, so nothing is repartitioned
 * and the task holds two stores.
 */

import { defineApp, seconds, stream, tumbling } from '../../../../processor/app/define.ts';
import type { Request, TenantCount } from '../../../../schemas/event-types.ts';

export const windowMs = seconds(10);

export default defineApp({
  id: 'two-aggregations',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .groupBy('userTenantDomain', 'apiName')
      .window(tumbling({ size: windowMs }))
      .aggregate((agg) => ({ requests: agg.count() }), { store: 'windows' })
      .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, requests: value.requests }))
      .groupBy('userTenantDomain')
      .aggregate(
        { init: () => 0, add: (peak: number, window) => Math.max(peak, window.requests) },
        { store: 'peaks' },
      )
      .map(({ key, value }): TenantCount => ({ userTenantDomain: key.userTenantDomain, count: value }))
      .to(stream<TenantCount>('TenantCounts')),
});
