/**
 * An independent, deliberately plain computation of what api-analytics must output for a given
 * input, per partition in offset order: 1-minute tumbling windows, 10 s grace, emit on close,
 * late records (window closed at the record's stream time) excluded.
 */
import type { ApiStats } from '../../../schemas/event-types.ts';
import type { RequestEvent } from '../../../schemas/request-generator.ts';

export interface InputRecord {
  partition: number;
  offset: bigint;
  /** undefined: the record cannot be decoded */
  event: RequestEvent | undefined;
}

/** An output record of api-analytics (the ApiStats schema's type). */
export type Stats = ApiStats;

const size = 60_000;
const grace = 10_000;

export function expectedStats(input: readonly InputRecord[]): {
  stats: Stats[];
  /** Windows still open at the end (what state queries show). */
  open: Stats[];
  late: InputRecord[];
  bad: InputRecord[];
} {
  const stats: Stats[] = [];
  const open: Stats[] = [];
  const late: InputRecord[] = [];
  const bad: InputRecord[] = [];
  const partitions = [...new Set(input.map((record) => record.partition))];
  for (const partition of partitions) {
    const records = input
      .filter((r) => r.partition === partition)
      .sort((a, b) => (a.offset < b.offset ? -1 : 1));
    let streamTime = -1;
    const windows = new Map<
      string,
      {
        tenant: string;
        api: string;
        start: number;
        n: number;
        throttled: number;
        min: number;
        max: number;
        rt: number;
        bt: number;
      }
    >();
    for (const record of records) {
      const event = record.event;
      if (!event) {
        bad.push(record);
        continue;
      }
      streamTime = Math.max(streamTime, event.requestTimestamp);
      const start = Math.floor(event.requestTimestamp / size) * size;
      if (start + size + grace <= streamTime) {
        late.push(record);
        continue;
      }
      const id = `${event.userTenantDomain}|${event.apiName}|${start}`;
      const window = windows.get(id) ?? {
        tenant: event.userTenantDomain,
        api: event.apiName,
        start,
        n: 0,
        throttled: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        rt: 0,
        bt: 0,
      };
      window.n += 1;
      window.throttled += event.throttledOut ? 1 : 0;
      window.min = Math.min(window.min, event.responseTime);
      window.max = Math.max(window.max, event.responseTime);
      window.rt += event.responseTime;
      window.bt += event.backendTime;
      windows.set(id, window);
    }
    for (const window of windows.values()) {
      const isOpen = window.start + size + grace > streamTime;
      (isOpen ? open : stats).push({
        userTenantDomain: window.tenant,
        apiName: window.api,
        windowStart: window.start,
        windowEnd: window.start + size,
        requests: window.n,
        throttledRequests: window.throttled,
        minResponseTime: window.min,
        avgResponseTime: window.rt / window.n,
        maxResponseTime: window.max,
        avgBackendTime: window.bt / window.n,
      });
    }
  }
  return { stats: sortStats(stats), open: sortStats(open), late, bad };
}

export function sortStats<T extends Pick<Stats, 'userTenantDomain' | 'apiName' | 'windowStart'>>(
  stats: T[],
): T[] {
  return [...stats].sort(
    (a, b) =>
      a.userTenantDomain.localeCompare(b.userTenantDomain) ||
      a.apiName.localeCompare(b.apiName) ||
      a.windowStart - b.windowStart,
  );
}
