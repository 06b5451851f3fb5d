/**
 * apps/plan-usage.ts computed directly: requests already labelled with their tenant's plan tier,
 * counted per tier and window, each window only once closed by `closedAt` (the stream time every
 * tier's partition reached).
 */
import { type PlanUsage, planWindow } from '../../../apps/plan-usage.ts';

export interface PlannedRequest {
  plan: string;
  /** Event time (ms). */
  time: number;
  throttled: boolean;
}

export function expectedPlanUsage(requests: readonly PlannedRequest[], closedAt: number): PlanUsage[] {
  const windows = new Map<string, { plan: string; start: number; requests: number; throttled: number }>();
  for (const request of requests) {
    const start = Math.floor(request.time / planWindow.size) * planWindow.size;
    if (start + planWindow.size + planWindow.grace > closedAt) continue;
    const id = JSON.stringify([request.plan, start]);
    const window = windows.get(id) ?? { plan: request.plan, start, requests: 0, throttled: 0 };
    window.requests += 1;
    window.throttled += request.throttled ? 1 : 0;
    windows.set(id, window);
  }
  return [...windows.values()].map((window) => ({
    plan: window.plan,
    windowStart: window.start,
    windowEnd: window.start + planWindow.size,
    requests: window.requests,
    throttledRequests: window.throttled,
    throttledShare: window.throttled / window.requests,
  }));
}

export const byPlanAndWindow = (a: PlanUsage, b: PlanUsage) =>
  a.plan.localeCompare(b.plan) || a.windowStart - b.windowStart;
