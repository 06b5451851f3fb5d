/**
 * Compile-time checks of the app DSL, run by `tsc --noEmit` (CI's typecheck phase): each
 * `@ts-expect-error` fails the typecheck if the line below it stops being an error.
 */

import { defineApp, stream, tumbling } from '../../processor/app/define.ts';
import type { ApiStats, Request } from '../../schemas/event-types.ts';

export const wrongPipelines = () =>
  defineApp({
    id: 'type-errors',
    source: stream<Request>('Request'),
    pipeline: (events) => {
      // @ts-expect-error: not a field of Request
      events.groupBy('tenant');
      // @ts-expect-error: min needs a number
      events.groupBy('userTenantDomain').aggregate((agg) => ({ x: agg.min((e) => e.apiName) }));
      // @ts-expect-error: the sink's events have another shape
      events.to(stream<ApiStats>('ApiStats'));
      const counted = events
        .groupBy('userTenantDomain')
        .window(tumbling({ size: 1000 }))
        .aggregate((agg) => ({ n: agg.count() }));
      // @ts-expect-error: no second grouping after an aggregation (no repartitioning)
      counted.groupBy('key');
      // @ts-expect-error: the key holds only the grouped fields
      counted.map(({ key }) => ({ api: key.apiName }));
      return counted
        .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, n: value.n }))
        .to(stream('Out'));
    },
  });
