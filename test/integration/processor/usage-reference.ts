/**
 * apps/api-usage.ts computed directly from the input, for tests and the e2e check: per-API usage
 * windows and throttling bursts, each only once closed by the stream time that closes them.
 */
import {
  type ApiUsage,
  type ThrottleAlert,
  type UsageSettings,
  usageDefaults,
} from '../../../apps/api-usage.ts';
import type { RequestEvent } from '../../../schemas/request-generator.ts';

const windowOf = (time: number, size: number) => Math.floor(time / size) * size;

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    // appended in place: a copy per item is quadratic on the benchmark's million requests
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Usage windows that end (plus grace) at or before `closedAt`, the stream time every API partition reached. */
export function expectedUsage(
  events: readonly RequestEvent[],
  closedAt: number,
  { usageWindow }: UsageSettings = usageDefaults,
): ApiUsage[] {
  const closed = events.filter(
    (event) =>
      windowOf(event.requestTimestamp, usageWindow.size) + usageWindow.size + usageWindow.grace <= closedAt,
  );
  return [
    ...groupBy(closed, (event) =>
      JSON.stringify([event.apiName, windowOf(event.requestTimestamp, usageWindow.size)]),
    ).values(),
  ].map((members) => {
    const windowStart = windowOf(members[0]!.requestTimestamp, usageWindow.size);
    const times = members.map((member) => member.responseTime);
    return {
      apiName: members[0]!.apiName,
      windowStart,
      windowEnd: windowStart + usageWindow.size,
      requests: members.length,
      throttledRequests: members.filter((member) => member.throttledOut).length,
      tenants: new Set(members.map((member) => member.userTenantDomain)).size,
      avgResponseTime: times.reduce((a, b) => a + b, 0) / times.length,
      maxResponseTime: times.reduce((a, b) => Math.max(a, b)),
    };
  });
}

export function expectedAlerts(
  events: readonly RequestEvent[],
  closedAt: number,
  { burstWindow, burstThreshold }: UsageSettings = usageDefaults,
): ThrottleAlert[] {
  const throttled = events.filter(
    (event) =>
      event.throttledOut && windowOf(event.requestTimestamp, burstWindow.size) + burstWindow.size <= closedAt,
  );
  return [
    ...groupBy(throttled, (event) =>
      JSON.stringify([
        event.userTenantDomain,
        event.apiName,
        windowOf(event.requestTimestamp, burstWindow.size),
      ]),
    ).values(),
  ]
    .filter((members) => members.length >= burstThreshold)
    .map((members) => {
      const windowStart = windowOf(members[0]!.requestTimestamp, burstWindow.size);
      return {
        userTenantDomain: members[0]!.userTenantDomain,
        apiName: members[0]!.apiName,
        windowStart,
        windowEnd: windowStart + burstWindow.size,
        throttledRequests: members.length,
      };
    });
}

/** One request per tenant and API at `time`: moves every input and repartition partition's stream time there. */
export function ticks(
  base: RequestEvent,
  tenants: readonly string[],
  apis: readonly string[],
  time: number,
): RequestEvent[] {
  return tenants.flatMap((userTenantDomain) =>
    apis.map((apiName) => ({
      ...base,
      userTenantDomain,
      apiName,
      requestTimestamp: time,
      throttledOut: false,
    })),
  );
}

export const byUsageKey = (a: ApiUsage, b: ApiUsage) =>
  a.apiName.localeCompare(b.apiName) || a.windowStart - b.windowStart;

export const byAlertKey = (a: ThrottleAlert, b: ThrottleAlert) =>
  a.userTenantDomain.localeCompare(b.userTenantDomain) ||
  a.apiName.localeCompare(b.apiName) ||
  a.windowStart - b.windowStart;
