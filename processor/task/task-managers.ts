/**
 * The task managers of an app's sub-topologies seen as one: an owner owns partition number p of
 * every sub-topology that has a partition p (p mod S for a slot; sub-topologies may have
 * different partition counts, app-partitions.ts), so owning, disowning and closing go to all of
 * them, and a number runs when every one of its tasks runs. Batches do not come through here:
 * each sub-topology's input reader hands them to its own manager.
 */
import type { TaskManager } from './task-manager.ts';

export function combineTaskManagers(
  parts: readonly { manager: TaskManager /** the sub-topology's partition count */; partitions: number }[],
): TaskManager {
  const managers = parts.map((part) => part.manager);
  const [first, ...rest] = managers;
  if (!first) throw new Error('an app has at least one sub-topology');
  if (rest.length === 0) return first;
  const union = (pick: (manager: TaskManager) => number[]) =>
    [...new Set(managers.flatMap(pick))].sort((a, b) => a - b);
  const within = (index: number, partitions: readonly number[]) =>
    partitions.filter((partition) => partition < parts[index]!.partitions);
  return {
    own(partitions, lease, fenced) {
      // producers fenced at takeover are those of the first sub-topology's transactional ids
      first.own(within(0, partitions), lease, fenced);
      rest.forEach((manager, index) => {
        manager.own(within(index + 1, partitions), lease);
      });
    },
    async disown(partitions, options) {
      await Promise.all(managers.map((manager, index) => manager.disown(within(index, partitions), options)));
    },
    onBatch() {
      return Promise.reject(new Error("a batch goes to its sub-topology's own task manager"));
    },
    running() {
      const running = managers.map((manager) => new Set(manager.running()));
      return union((manager) => manager.owned()).filter((partition) =>
        running.every((set, index) => partition >= parts[index]!.partitions || set.has(partition)),
      );
    },
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
