/**
 * The seed workload: per tenant and API, 1-minute tumbling windows with 10 s grace, request and
 * throttled counts and response/backend time statistics, emitted when each window closes.
 */
import type { AggregationBuilders, Results } from '../processor/app/aggregations.ts';
import {
  defineApp,
  minutes,
  seconds,
  stream,
  tumbling,
  type WindowedResult,
} from '../processor/app/define.ts';
import type { ApiStats, Request } from '../schemas/event-types.ts';

/** The statistics of one window (other apps computing ApiStats from other inputs use them too). */
export const apiStatsAggregations = (agg: AggregationBuilders<Request>) => ({
  requests: agg.count(),
  throttledRequests: agg.count((request) => request.throttledOut),
  minResponseTime: agg.min((request) => request.responseTime),
  avgResponseTime: agg.avg((request) => request.responseTime),
  maxResponseTime: agg.max((request) => request.responseTime),
  avgBackendTime: agg.avg((request) => request.backendTime),
});

/** A closed window of those statistics as the ApiStats record. */
export const toApiStats = ({
  key,
  window,
  value,
}: WindowedResult<
  Pick<Request, 'userTenantDomain' | 'apiName'>,
  Results<ReturnType<typeof apiStatsAggregations>>
>): ApiStats => ({
  userTenantDomain: key.userTenantDomain,
  apiName: key.apiName,
  windowStart: window.start,
  windowEnd: window.end,
  requests: value.requests,
  throttledRequests: value.throttledRequests,
  // a closed window holds at least one request, so these are never null
  minResponseTime: value.minResponseTime ?? 0,
  avgResponseTime: value.avgResponseTime ?? 0,
  maxResponseTime: value.maxResponseTime ?? 0,
  avgBackendTime: value.avgBackendTime ?? 0,
});

export default defineApp({
  id: 'api-analytics',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .groupBy('userTenantDomain', 'apiName')
      .window(tumbling({ size: minutes(1), grace: seconds(10) }))
      .aggregate(apiStatsAggregations)
      .map(toApiStats)
      .to(stream<ApiStats>('ApiStats')),
});
