/**
 * Two input streams in one task: requests from the app's source and from a second stream
 * (`Mobile`, the same schema and partition key) merged, then api-analytics' windowed statistics.
 * The grace is an hour: each task reads its two inputs as they arrive (not in timestamp order),
 * so a grace larger than the inputs' skew keeps every record on time whatever the interleaving.
 */
import { defineApp, hours, minutes, stream, tumbling } from '../../../../processor/app/define.ts';
import type { ApiStats, Request } from '../../../../schemas/event-types.ts';

export default defineApp({
  id: 'merged',
  source: stream<Request>('Request'),
  pipeline: (requests, sources) =>
    requests
      .merge(sources.from(stream<Request>('Mobile')))
      .groupBy('userTenantDomain', 'apiName')
      .window(tumbling({ size: minutes(1), grace: hours(1) }))
      .aggregate((agg) => ({
        requests: agg.count(),
        throttledRequests: agg.count((request) => request.throttledOut),
        minResponseTime: agg.min((request) => request.responseTime),
        avgResponseTime: agg.avg((request) => request.responseTime),
        maxResponseTime: agg.max((request) => request.responseTime),
        avgBackendTime: agg.avg((request) => request.backendTime),
      }))
      .map(
        ({ key, window, value }): ApiStats => ({
          userTenantDomain: key.userTenantDomain,
          apiName: key.apiName,
          windowStart: window.start,
          windowEnd: window.end,
          requests: value.requests,
          throttledRequests: value.throttledRequests,
          minResponseTime: value.minResponseTime ?? 0,
          avgResponseTime: value.avgResponseTime ?? 0,
          maxResponseTime: value.maxResponseTime ?? 0,
          avgBackendTime: value.avgBackendTime ?? 0,
        }),
      )
      .to(stream<ApiStats>('ApiStats')),
});
