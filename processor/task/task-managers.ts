/**
 * The task managers of an app's sub-topologies seen as one: an owner owns partition p of every
 * sub-topology at once (p mod S for a slot), so owning, disowning and closing go to all of them,
 * and a partition runs when every one of its tasks runs. Batches do not come through here: each
 * sub-topology's input reader hands them to its own manager.
 */
import type { TaskManager } from './task-manager.ts';

export function combineTaskManagers(managers: readonly TaskManager[]): TaskManager {
  const [first, ...rest] = managers;
  if (!first) throw new Error('an app has at least one sub-topology');
  if (rest.length === 0) return first;
  const union = (pick: (manager: TaskManager) => number[]) =>
    [...new Set(managers.flatMap(pick))].sort((a, b) => a - b);
  return {
    own(partitions, lease, fenced) {
      // producers fenced at takeover are those of the first sub-topology's transactional ids
      first.own(partitions, lease, fenced);
      for (const manager of rest) manager.own(partitions, lease);
    },
    async disown(partitions, options) {
      await Promise.all(managers.map((manager) => manager.disown(partitions, options)));
    },
    onBatch() {
      return Promise.reject(new Error("a batch goes to its sub-topology's own task manager"));
    },
    running: () =>
      first.running().filter((partition) => rest.every((manager) => manager.running().includes(partition))),
    owned: () => union((manager) => manager.owned()),
    paused: () => union((manager) => manager.paused()),
    statuses: () => managers.flatMap((manager) => manager.statuses()),
    skipGoneInput: () => false,
    // store and table names are unique in an app: the first manager that has one answers
    storeFor: (partition, store) =>
      managers.map((manager) => manager.storeFor(partition, store)).find((found) => found !== undefined),
    tableFor: (partition, table) =>
      managers.map((manager) => manager.tableFor(partition, table)).find((found) => found !== undefined),
    failingSince() {
      const since = managers.map((manager) => manager.failingSince()).filter((time) => time !== undefined);
      return since.length === 0 ? undefined : Math.min(...since);
    },
    restoring: () => managers.some((manager) => manager.restoring()),
    async closeAll(options) {
      await Promise.all(managers.map((manager) => manager.closeAll(options)));
    },
  };
}
