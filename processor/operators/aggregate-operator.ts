/**
 * The stateful step of a pipeline: folds events into per-group (and per-window) aggregates kept
 * in the task's write cache, and says what to emit. Three kinds: fixed windows (tumbling,
 * hopping), sessions, and running aggregates without windows.
 */
import type { GroupingPlan } from '../app/topology.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { WriteCache } from '../state/write-cache.ts';
import type { Window } from '../windows/windows.ts';
import { createFixedWindowAggregate } from './fixed-window-aggregate.ts';
import { createSessionAggregate } from './session-aggregate.ts';
import { createTableAggregate } from './table-aggregate.ts';

export type State = Record<string, unknown>;

/** What the store holds per key: the aggregation state, and the sessions for session windows. */
export type StoredAggregate = { state: State } | { sessions: { start: number; end: number; state: State }[] };

export interface Emission {
  group: unknown[];
  window?: Window;
  result: State;
}

export interface GroupedEvent {
  group: unknown[];
  /** encodeGroup(group) */
  groupBytes: Buffer;
  timestamp: number;
  event: unknown;
}

export interface AggregateOperator {
  /** Store keys this event may touch, to load before `add`. */
  keysFor(item: GroupedEvent, streamTime: number): Buffer[];
  /** Folds the event in; false when it is late (no open window takes it). */
  add(item: GroupedEvent, streamTime: number): boolean;
  /** Store keys of the aggregates that `closeDue(streamTime)` will read. */
  dueKeys(streamTime: number): Buffer[];
  /** Final results of the windows closed at `streamTime`, in close order; removes them. */
  closeDue(streamTime: number): Emission[];
  /** Current results of what changed since the last call (emit-on-update mode). */
  takeUpdates(): Emission[];
  /** Rebuilds the in-memory index of open windows from the store (after a restore). */
  rebuildIndex(store: KeyValueStore): Promise<void>;
}

export function createAggregateOperator(
  plan: GroupingPlan,
  cache: WriteCache<StoredAggregate>,
): AggregateOperator {
  if (!plan.window) return createTableAggregate(plan, cache);
  if (plan.window.kind === 'session') return createSessionAggregate(plan, plan.window, cache);
  return createFixedWindowAggregate(plan, plan.window, cache);
}

/** An index of open windows by the stream time at which they close. */
export class CloseIndex {
  private readonly byTime = new Map<number, Map<string, Buffer>>();

  add(closeTime: number, key: Buffer): void {
    let keys = this.byTime.get(closeTime);
    if (!keys) {
      keys = new Map();
      this.byTime.set(closeTime, keys);
    }
    keys.set(key.toString('latin1'), key);
  }

  remove(closeTime: number, key: Buffer): void {
    const keys = this.byTime.get(closeTime);
    keys?.delete(key.toString('latin1'));
    if (keys?.size === 0) this.byTime.delete(closeTime);
  }

  /** Close times at or before `streamTime`, ascending, with their keys. */
  due(streamTime: number): [number, Buffer[]][] {
    return [...this.byTime.keys()]
      .filter((time) => time <= streamTime)
      .sort((a, b) => a - b)
      .map((time) => [time, [...this.byTime.get(time)!.values()]]);
  }

  clear(): void {
    this.byTime.clear();
  }
}
