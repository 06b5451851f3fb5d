/**
 * Every stateless operator inside one sub-topology, with two sinks: peek (which refuses one API),
 * branch (throttled requests to their own stream), flatMap (fans one API out, drops another),
 * merge (cheap throttled requests rejoin the counted ones), a windowed aggregation with a custom
 * fold, and a map.
 */

import { defineApp, seconds, stream, tumbling } from '../../../../processor/app/define.ts';
import type { ApiStats, Request } from '../../../../schemas/event-types.ts';

export const windowMs = seconds(10);

interface ResponseTimes {
  low: number;
  high: number;
  total: number;
}

export default defineApp({
  id: 'operators',
  source: stream<Request>('Request'),
  pipeline: (requests) => {
    const { throttled, rest } = requests
      .peek((request) => {
        if (request.apiName === 'peek-refuses') throw new Error('peek refused this request');
      })
      .branch({ throttled: (request) => request.throttledOut, rest: () => true });
    throttled.to(stream<Request>('Throttled'));
    rest
      .flatMap((request) =>
        request.apiName === 'fanout'
          ? [request, { ...request, apiName: 'fanout-copy' }]
          : request.apiName === 'dropped'
            ? []
            : [request],
      )
      .merge(throttled.filter((request) => request.responseTime < 100))
      .groupBy('userTenantDomain', 'apiName')
      .window(tumbling({ size: windowMs }))
      .aggregate((agg) => ({
        requests: agg.count(),
        throttledRequests: agg.count((request) => request.throttledOut),
        // a custom fold (its state goes through the changelog as JSON)
        response: agg.reduce({
          init: (): ResponseTimes | null => null,
          add: (times, request) => ({
            low: Math.min(times?.low ?? request.responseTime, request.responseTime),
            high: Math.max(times?.high ?? request.responseTime, request.responseTime),
            total: (times?.total ?? 0) + request.responseTime,
          }),
        }),
        backendTotal: agg.sum((request) => request.backendTime),
      }))
      .map(({ key, window, value: { requests, throttledRequests, response, backendTotal } }) => ({
        ...key,
        windowStart: window.start,
        windowEnd: window.end,
        requests,
        throttledRequests,
        minResponseTime: response?.low ?? 0,
        avgResponseTime: (response?.total ?? 0) / requests,
        maxResponseTime: response?.high ?? 0,
        avgBackendTime: backendTotal / requests,
      }))
      .to(stream<ApiStats>('ApiStats'));
  },
});
