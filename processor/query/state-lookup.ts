/**
 * Reads one group's committed aggregates from a store: its open windows (optionally in a time
 * range), its sessions, or its running value, as the aggregation's results.
 */
import type { GroupingPlan } from '../app/topology.ts';
import type { State } from '../operators/aggregate-operator.ts';
import { encodeGroup, sessionsKey, tableKey, windowKey } from '../state/key-codec.ts';
import type { KeyValueStore } from '../state/store.ts';

export interface WindowValue {
  start: number;
  end: number;
  value: Record<string, unknown>;
}

export type StateAnswer = { windows: WindowValue[] } | { value: Record<string, unknown> };

const decode = (bytes: Buffer) => JSON.parse(bytes.toString('utf8'));

/** undefined when the store holds nothing for the group (in the range). */
export async function lookupGroup(
  store: KeyValueStore,
  grouping: GroupingPlan,
  group: readonly unknown[],
  range: { from?: number; to?: number } = {},
): Promise<StateAnswer | undefined> {
  const bytes = encodeGroup(group);
  const { aggregation, window } = grouping;
  const from = range.from ?? 0;
  const to = range.to ?? Number.MAX_SAFE_INTEGER;
  if (!window) {
    const value = await store.get(tableKey(bytes));
    return value === undefined
      ? undefined
      : { value: aggregation.result((decode(value) as { state: State }).state) };
  }
  const windows: WindowValue[] = [];
  if (window.kind === 'session') {
    const value = await store.get(sessionsKey(bytes));
    const sessions =
      value === undefined ? [] : (decode(value).sessions as { start: number; end: number; state: State }[]);
    for (const session of sessions) {
      if (session.end >= from && session.start < to) {
        windows.push({ start: session.start, end: session.end, value: aggregation.result(session.state) });
      }
    }
  } else {
    for await (const [key, value] of store.range({ gte: windowKey(bytes, from), lt: windowKey(bytes, to) })) {
      const start = Number(key.readBigUInt64BE(key.length - 8));
      windows.push({ start, end: start + window.sizeMs, value: aggregation.result(decode(value).state) });
    }
  }
  return windows.length > 0 ? { windows } : undefined;
}
