/**
 * A running count of requests per tenant, emitted on every update: the keyed-count workload of
 * the benchmarks (restore of a large store, failover with continuous output).
 */
import { defineApp, stream } from '../processor/app/define.ts';
import type { Request, TenantCount } from '../schemas/event-types.ts';

export default defineApp({
  id: 'keyed-count',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .groupBy('userTenantDomain')
      .aggregate((agg) => ({ count: agg.count() }))
      .map(({ key, value }): TenantCount => ({ userTenantDomain: key.userTenantDomain, count: value.count }))
      .to(stream<TenantCount>('TenantCounts')),
});
