/**
 * apps/api-usage.ts with its per-API usage counted within each input partition (no repartition):
 * the same operators and the same alerts branch, one partial window per partition and API. The
 * api-usage benchmark runs it beside the real app to show what the repartition itself costs.
 */
import { apiUsage, usageDefaults } from '../../apps/api-usage.ts';

export default apiUsage({ ...usageDefaults, withinPartition: true });
