/** Tumbling and hopping windows: one store entry per (group, window start). */
import type { GroupingPlan } from '../app/topology.ts';
import { dataKeyRange, decodeKey, keyKinds, windowKey } from '../state/key-codec.ts';
import type { WriteCache } from '../state/write-cache.ts';
import {
  closeTimeOf,
  type HoppingSpec,
  openWindowsFor,
  type TumblingSpec,
  type Window,
} from '../windows/windows.ts';
import {
  type AggregateOperator,
  CloseIndex,
  type Emission,
  type State,
  type StoredAggregate,
} from './aggregate-operator.ts';

export function createFixedWindowAggregate(
  plan: GroupingPlan,
  spec: TumblingSpec | HoppingSpec,
  cache: WriteCache<StoredAggregate>,
): AggregateOperator {
  const { aggregation } = plan;
  const index = new CloseIndex();
  const updated = new Map<string, { key: Buffer; group: unknown[]; window: Window }>();
  const stateOf = (key: Buffer) => (cache.get(key) as { state: State } | undefined)?.state;

  return {
    keysFor(item, streamTime) {
      return openWindowsFor(spec, item.timestamp, streamTime).map((window) =>
        windowKey(item.groupBytes, window.start),
      );
    },

    add(item, streamTime) {
      const windows = openWindowsFor(spec, item.timestamp, streamTime);
      for (const window of windows) {
        const key = windowKey(item.groupBytes, window.start);
        const previous = stateOf(key);
        if (previous === undefined) index.add(closeTimeOf(spec, window), key);
        cache.set(key, { state: aggregation.add(previous ?? aggregation.init(), item.event) });
        if (plan.emit === 'onUpdate') updated.set(key.toString('latin1'), { key, group: item.group, window });
      }
      return windows.length > 0;
    },

    dueKeys(streamTime) {
      return index.due(streamTime).flatMap(([, keys]) => keys);
    },

    closeDue(streamTime) {
      const emissions: Emission[] = [];
      for (const [closeTime, keys] of index.due(streamTime)) {
        for (const key of keys) {
          const state = stateOf(key);
          index.remove(closeTime, key);
          if (state === undefined) continue;
          const { group, start } = decodeKey(key);
          if (plan.emit === 'onWindowClose') {
            emissions.push({
              group: group as unknown[],
              window: { start: start!, end: start! + spec.sizeMs },
              result: aggregation.result(state),
            });
          }
          // a closed window can take no more records: drop it, tombstone in the changelog
          cache.delete(key);
          updated.delete(key.toString('latin1'));
        }
      }
      return emissions;
    },

    takeUpdates() {
      const emissions = [...updated.values()].flatMap(({ key, group, window }) => {
        const state = stateOf(key);
        return state === undefined ? [] : [{ group, window, result: aggregation.result(state) }];
      });
      updated.clear();
      return emissions;
    },

    async rebuildIndex(store) {
      index.clear();
      updated.clear();
      for await (const [key] of store.range(dataKeyRange)) {
        if (key[0] !== keyKinds.window) continue;
        const { start } = decodeKey(key);
        index.add(closeTimeOf(spec, { start: start!, end: start! + spec.sizeMs }), key);
      }
    },
  };
}
