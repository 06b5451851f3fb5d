/**
 * Per-API usage across all tenants, and throttling alerts per tenant:
 * - every request, regrouped by `apiName` (not the partition key: sluice repartitions through
 *   `api-usage-by-api-repartition`), counted per 1-minute window with latency statistics;
 * - throttled requests branched off and counted per tenant and API in 10 s windows; a window
 *   with at least `burstThreshold` of them is a burst, sent to the alerts stream.
 * `sluice describe --app apps/api-usage.ts` shows the two sub-topologies.
 */
import { defineApp, minutes, seconds, stream, tumbling } from '../processor/app/define.ts';
import type { ApiUsage, Request, ThrottleAlert } from '../schemas/event-types.ts';

export type { ApiUsage, ThrottleAlert };

export interface UsageSettings {
  usageWindow: { size: number; grace: number };
  burstWindow: { size: number };
  /** Throttled requests of one tenant on one API in one burst window that make an alert. */
  burstThreshold: number;
  /**
   * Count per API within each input partition instead of across tenants (one partial window per
   * partition, no repartition): the benchmark's measure of what the repartition itself costs.
   */
  withinPartition?: boolean;
}

export const usageDefaults: UsageSettings = {
  usageWindow: { size: minutes(1), grace: seconds(10) },
  burstWindow: { size: seconds(10) },
  burstThreshold: 3,
};

/** The app with other windows (tests use a long grace, so no record is ever late). */
export const apiUsage = ({
  usageWindow,
  burstWindow,
  burstThreshold,
  withinPartition,
}: UsageSettings = usageDefaults) =>
  defineApp({
    id: 'api-usage',
    source: stream<Request>('Request'),
    pipeline: (requests) => {
      const { throttled } = requests.branch({ throttled: (request) => request.throttledOut });
      throttled
        .groupBy('userTenantDomain', 'apiName')
        .window(tumbling(burstWindow))
        .aggregate((agg) => ({ throttledRequests: agg.count() }), { store: 'throttle-bursts' })
        .filter(({ value }) => value.throttledRequests >= burstThreshold)
        .map(
          ({ key, window, value }): ThrottleAlert => ({
            ...key,
            windowStart: window.start,
            windowEnd: window.end,
            throttledRequests: value.throttledRequests,
          }),
        )
        .to(stream<ThrottleAlert>('ThrottleAlerts'));

      (withinPartition
        ? requests.groupBy((request) => ({ apiName: request.apiName }), { repartition: false })
        : requests.groupBy('apiName')
      )
        .window(tumbling(usageWindow))
        .aggregate(
          (agg) => ({
            requests: agg.count(),
            throttledRequests: agg.count((request) => request.throttledOut),
            tenants: agg.distinctCount((request) => request.userTenantDomain),
            avgResponseTime: agg.avg((request) => request.responseTime),
            maxResponseTime: agg.max((request) => request.responseTime),
          }),
          { store: 'by-api' },
        )
        .map(
          ({ key, window, value }): ApiUsage => ({
            apiName: key.apiName,
            windowStart: window.start,
            windowEnd: window.end,
            requests: value.requests,
            throttledRequests: value.throttledRequests,
            tenants: value.tenants,
            // a closed window holds at least one request, so these are never null
            avgResponseTime: value.avgResponseTime ?? 0,
            maxResponseTime: value.maxResponseTime ?? 0,
          }),
        )
        .to(stream<ApiUsage>('ApiUsage'));
    },
  });

export default apiUsage();
