/**
 * Usage per plan tier: every request is enriched with its tenant's plan from the `TenantPlan`
 * table (the compacted topic `tenant-plans`, one row per tenant, kept by whoever sells plans),
 * then counted per plan tier and 1-minute window with the share of throttled requests.
 * - a left join: a tenant without a plan row counts under the tier `none`;
 * - the plan is a global table (every task holds all of it): tenants of every partition find it,
 *   and a plan change applies from the moment the processor reads it (the latest row);
 * - grouping by plan does not keep the tenant partitioning: sluice repartitions through
 *   `plan-usage-by-plan-repartition`.
 * Load plans with `sluice produce --stream TenantPlan --kafka --file plans.ndjson`.
 */
import { defineApp, minutes, seconds, stream, table, tumbling } from '../processor/app/define.ts';
import type { PlanUsage, Request, TenantPlan } from '../schemas/event-types.ts';

export type { PlanUsage, TenantPlan };

export const planWindow = { size: minutes(1), grace: seconds(10) };
/** The tier of requests whose tenant has no plan row. */
export const noPlan = 'none';

export default defineApp({
  id: 'plan-usage',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .leftJoin(table<TenantPlan>('TenantPlan'), {
        on: 'userTenantDomain',
        joiner: (request, plan) => ({ plan: plan?.plan ?? noPlan, throttledOut: request.throttledOut }),
      })
      .groupBy('plan')
      .window(tumbling(planWindow))
      .aggregate(
        (agg) => ({
          requests: agg.count(),
          throttledRequests: agg.count((request) => request.throttledOut),
        }),
        { store: 'by-plan' },
      )
      .map(
        ({ key, window, value }): PlanUsage => ({
          plan: key.plan,
          windowStart: window.start,
          windowEnd: window.end,
          requests: value.requests,
          throttledRequests: value.throttledRequests,
          // a closed window holds at least one request
          throttledShare: value.throttledRequests / value.requests,
        }),
      )
      .to(stream<PlanUsage>('PlanUsage')),
});
