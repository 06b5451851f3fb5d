/**
 * The three stream–stream joins of web requests (the app's source) with mobile requests (a second
 * input stream) of the same tenant at most `withinMs` apart, each to its own sink: inner to
 * `Joined`, left to `LeftJoined`, outer to `OuterJoined`. The grace is an hour: each task reads its
 * two inputs as they arrive, so a grace larger than the inputs' skew keeps every record on time.
 */
import { defineApp, hours, seconds, stream } from '../../../../processor/app/define.ts';
import type { Request } from '../../../../schemas/event-types.ts';

export const withinMs = seconds(2);
export const graceMs = hours(1);

export interface RequestPair {
  userTenantDomain: string;
  web: string | null;
  mobile: string | null;
  at: number;
}

/** How a request is named in a pair. */
export const label = (request: Request) =>
  `${request.apiName}/${request.requestTimestamp}/${request.responseTime}`;

const pair = (web: Request | null, mobile: Request | null): Omit<RequestPair, 'at'> => ({
  userTenantDomain: (web ?? mobile)!.userTenantDomain,
  web: web && label(web),
  mobile: mobile && label(mobile),
});

export default defineApp({
  id: 'stream-joins',
  source: stream<Request>('Request'),
  pipeline: (web, sources) => {
    const mobile = sources.from(stream<Request>('Mobile'));
    const options = { on: 'userTenantDomain', within: withinMs, grace: graceMs } as const;
    // the pair's time: the later request's (as the join's result carries)
    const timed = (web: Request | null, mobile: Request | null): RequestPair => ({
      ...pair(web, mobile),
      at: Math.max(web?.requestTimestamp ?? 0, mobile?.requestTimestamp ?? 0),
    });
    web.join(mobile, { ...options, name: 'inner', joiner: timed }).to(stream<RequestPair>('Joined'));
    web.leftJoin(mobile, { ...options, name: 'left', joiner: timed }).to(stream<RequestPair>('LeftJoined'));
    web
      .outerJoin(mobile, { ...options, name: 'outer', joiner: timed })
      .to(stream<RequestPair>('OuterJoined'));
  },
});
