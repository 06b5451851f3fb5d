/** Both stream–table joins against TenantPlan as a partitioned table (versioned: rows as of event time). */

import { defineApp, stream, table } from '../../../../processor/app/define.ts';
import type { Request, TenantPlan } from '../../../../schemas/event-types.ts';
import { joinBoth } from './join-app.ts';

export default defineApp({
  id: 'partitioned-joins',
  source: stream<Request>('Request'),
  pipeline: (requests) => joinBoth(requests, table<TenantPlan>('TenantPlan', { kind: 'partitioned' })),
});
