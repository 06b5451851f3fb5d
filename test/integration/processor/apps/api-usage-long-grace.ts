/**
 * apps/api-usage.ts with a usage-window grace far beyond any skew between upstream tasks, so
 * that no record reaches the repartitioned aggregation late and its output is exactly known.
 */
import { apiUsage, usageDefaults } from '../../../../apps/api-usage.ts';
import { minutes } from '../../../../processor/app/define.ts';

export const longGrace = { ...usageDefaults, usageWindow: { size: minutes(1), grace: minutes(10) } };

export default apiUsage(longGrace);
