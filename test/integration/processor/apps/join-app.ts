/** Both stream–table joins against the TenantPlan global table, each to its own sink. */
import type { Request } from '../../../../apps/api-analytics.ts';
import type { TenantPlan } from '../../../../apps/plan-usage.ts';
import { defineApp, stream, table } from '../../../../processor/app/define.ts';

export interface JoinedRequest {
  userTenantDomain: string;
  requestTimestamp: number;
  plan: string | null;
}

const plans = table<TenantPlan>('TenantPlan');

export default defineApp({
  id: 'joins',
  source: stream<Request>('Request'),
  pipeline: (requests) => {
    requests
      .join(plans, {
        on: 'userTenantDomain',
        joiner: ({ userTenantDomain, requestTimestamp }, plan): JoinedRequest => ({
          userTenantDomain,
          requestTimestamp,
          plan: plan.plan,
        }),
      })
      .to(stream<JoinedRequest>('Joined'));
    requests
      .leftJoin(plans, {
        on: 'userTenantDomain',
        joiner: ({ userTenantDomain, requestTimestamp }, plan): JoinedRequest => ({
          userTenantDomain,
          requestTimestamp,
          plan: plan?.plan ?? null,
        }),
      })
      .to(stream<JoinedRequest>('LeftJoined'));
  },
});
