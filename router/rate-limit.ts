/**
 * Per-tenant limits on events, as token buckets held by this router instance: with workers, by
 * its primary process, asked over IPC (cluster/shared-rate-limit.ts), so the limit is exact for
 * the instance however many workers it has; with N instances behind a round-robin balancer a
 * tenant gets about N times the rate in all. A request takes all its tokens or none; a refusal
 * says when enough tokens will be there.
 */
import { RequestProblem } from './problems.ts';

export interface RateLimitSettings {
  eventsPerSecond: number;
  burst: number;
  tenants: Readonly<Record<string, { eventsPerSecond: number; burst: number }>>;
}

export interface RateLimiter {
  /** Takes `count` events per tenant, or throws (rejects) 429 with Retry-After; takes nothing then. */
  take(perTenant: ReadonlyMap<string, number>): void | Promise<void>;
}

/** The buckets themselves, answering at once. */
export interface LocalRateLimiter extends RateLimiter {
  take(perTenant: ReadonlyMap<string, number>): void;
}

/** Whether any tenant has a limit at all (0 events/s turns a limit off). */
export function hasRateLimits(settings: RateLimitSettings): boolean {
  return (
    settings.eventsPerSecond > 0 || Object.values(settings.tenants).some((limit) => limit.eventsPerSecond > 0)
  );
}

export function createRateLimiter(
  settings: RateLimitSettings,
  now: () => number = () => performance.now(),
): LocalRateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  // a Map of own entries: a tenant named `constructor` or `__proto__` must not find Object's members
  const perTenant = new Map(Object.entries(settings.tenants));
  const limitOf = (tenant: string) => perTenant.get(tenant) ?? settings;

  const refill = (tenant: string) => {
    const { eventsPerSecond, burst } = limitOf(tenant);
    const time = now();
    const bucket = buckets.get(tenant) ?? { tokens: burst, at: time };
    bucket.tokens = Math.min(burst, bucket.tokens + ((time - bucket.at) / 1000) * eventsPerSecond);
    bucket.at = time;
    buckets.set(tenant, bucket);
    return bucket;
  };

  return {
    take(perTenant) {
      const limited = [...perTenant].filter(([tenant]) => limitOf(tenant).eventsPerSecond > 0);
      for (const [tenant, count] of limited) {
        const { eventsPerSecond, burst } = limitOf(tenant);
        const bucket = refill(tenant);
        if (count > burst) {
          throw new RequestProblem(
            'ROUTER_RATE_LIMITED',
            `tenant ${tenant} sent ${count} events in one request; its burst limit is ${burst}: split the request`,
            { retryAfterSeconds: 1 },
          );
        }
        if (bucket.tokens < count) {
          throw new RequestProblem(
            'ROUTER_RATE_LIMITED',
            `tenant ${tenant} is over its limit of ${eventsPerSecond} events/s`,
            { retryAfterSeconds: Math.max(1, Math.ceil((count - bucket.tokens) / eventsPerSecond)) },
          );
        }
      }
      for (const [tenant, count] of limited) buckets.get(tenant)!.tokens -= count;
    },
  };
}
