/**
 * Two input streams in one task: requests from the app's source and from a second stream
 * (`Mobile`, the same schema and partition key) merged, then api-analytics' windowed statistics
 * (its own aggregations and ApiStats mapping).
 * The grace is an hour: each task reads its two inputs as they arrive (not in timestamp order),
 * so a grace larger than the inputs' skew keeps every record on time whatever the interleaving.
 */

import { apiStatsAggregations, toApiStats } from '../../../../apps/api-analytics.ts';
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
      .aggregate(apiStatsAggregations)
      .map(toApiStats)
      .to(stream<ApiStats>('ApiStats')),
});
