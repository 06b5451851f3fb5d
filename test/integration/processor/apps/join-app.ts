/** Both stream–table joins against the TenantPlan global table, each to its own sink. */

import { defineApp, stream, type TableRef, table } from '../../../../processor/app/define.ts';
import type { EventStream } from '../../../../processor/app/pipeline.ts';
import type { Request, TenantPlan } from '../../../../schemas/event-types.ts';

export interface JoinedRequest {
  userTenantDomain: string;
  requestTimestamp: number;
  plan: string | null;
}

/** The inner join to `Joined`, the left join to `LeftJoined` (also used with a partitioned table). */
export function joinBoth(requests: EventStream<Request>, plans: TableRef<TenantPlan>): void {
  const joined = (request: Request, plan: TenantPlan | null): JoinedRequest => ({
    userTenantDomain: request.userTenantDomain,
    requestTimestamp: request.requestTimestamp,
    plan: plan?.plan ?? null,
  });
  requests.join(plans, { on: 'userTenantDomain', joiner: joined }).to(stream<JoinedRequest>('Joined'));
  requests
    .leftJoin(plans, { on: 'userTenantDomain', joiner: joined })
    .to(stream<JoinedRequest>('LeftJoined'));
}

export default defineApp({
  id: 'joins',
  source: stream<Request>('Request'),
  pipeline: (requests) => joinBoth(requests, table<TenantPlan>('TenantPlan')),
});
