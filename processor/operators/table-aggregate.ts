/** A running aggregate per group, without windows: never closes, emitted on every update. */
import type { GroupingPlan } from '../app/topology.ts';
import { tableKey } from '../state/key-codec.ts';
import type { WriteCache } from '../state/write-cache.ts';
import type { AggregateOperator, State, StoredAggregate } from './aggregate-operator.ts';

export function createTableAggregate(
  plan: GroupingPlan,
  cache: WriteCache<StoredAggregate>,
): AggregateOperator {
  const { aggregation } = plan;
  const updated = new Map<string, { key: Buffer; group: unknown[] }>();
  const stateOf = (key: Buffer) => (cache.get(key) as { state: State } | undefined)?.state;

  return {
    keysFor: (item) => [tableKey(item.groupBytes)],
    add(item) {
      const key = tableKey(item.groupBytes);
      cache.set(key, { state: aggregation.add(stateOf(key) ?? aggregation.init(), item.event) });
      updated.set(key.toString('latin1'), { key, group: item.group });
      return true;
    },
    dueKeys: () => [],
    closeDue: () => [],
    takeUpdates() {
      const emissions = [...updated.values()].flatMap(({ key, group }) => {
        const state = stateOf(key);
        return state === undefined ? [] : [{ group, result: aggregation.result(state) }];
      });
      updated.clear();
      return emissions;
    },
    async rebuildIndex() {
      updated.clear();
    },
  };
}
