/**
 * The active side of an instance spread over worker threads, seen by the main thread as one
 * ActiveProcessing (what slot-instance.ts and main.ts already drive):
 * - cluster mode: the main thread decides which worker runs each owned partition (the least
 *   loaded one: slot s owns p ≡ s mod S, so p mod W would leave workers idle) and hands it the
 *   lease as a shared deadline cell (lease-cells.ts). Takeover fencing happened on the main
 *   thread before `own`; the worker's task fences again with its own producer before producing;
 * - group mode: every worker is a member of the app's consumer group; Kafka assigns partitions
 *   to each, as to separate instances.
 * What the task manager answers synchronously (statuses, running, restoring…) comes from the
 * workers' latest snapshots, read only once they reflect the last own/disown sent to the worker.
 */
import type { TransactionalProducer } from '../../common/kafka/index.ts';
import type { ActiveProcessing } from '../active.ts';
import type { TaskStatus } from '../task/task-lifecycle.ts';
import type { TaskManager } from '../task/task-manager.ts';
import type { PartitionLease } from '../task/task-starter.ts';
import { remoteStore, remoteTable } from './remote-store.ts';
import type { PooledWorker, ReceivedSnapshot, WorkerPool } from './worker-pool.ts';

interface Assignment {
  worker: PooledWorker;
  lease?: PartitionLease;
  /** Snapshots numbered below this predate the worker's answer to `own`. */
  freshFrom: number;
}

const sorted = (partitions: Iterable<number>) => [...new Set(partitions)].sort((a, b) => a - b);

export async function startPooledProcessing(
  pool: WorkerPool,
  mode: 'assigned' | 'group',
  options: { onFatalError(error: unknown): void },
): Promise<ActiveProcessing> {
  const { workers } = pool;
  await Promise.all(workers.map((worker) => worker.request({ type: 'start', mode })));
  /** Cluster mode: who runs each owned partition. Group mode: taken from the snapshots. */
  const assigned = new Map<number, Assignment>();
  let stopped = false;

  const snapshotOf = (worker: PooledWorker) => worker.snapshot();
  /** Each owned partition with its worker and, when fresh, the worker's snapshot. */
  const owners = (): { partition: number; worker: PooledWorker; seen?: ReceivedSnapshot }[] => {
    if (mode === 'group')
      return workers.flatMap((worker) => {
        const seen = snapshotOf(worker);
        return (seen?.snapshot.owned ?? []).map((partition) => ({ partition, worker, seen }));
      });
    return [...assigned].map(([partition, { worker, freshFrom }]) => {
      const seen = snapshotOf(worker);
      return { partition, worker, seen: seen && seen.seq >= freshFrom ? seen : undefined };
    });
  };
  const where = (pick: (seen: ReceivedSnapshot) => number[]) =>
    sorted(
      owners()
        .filter(({ partition, seen }) => seen && pick(seen).includes(partition))
        .map(({ partition }) => partition),
    );
  const seenSnapshots = () =>
    workers.map(snapshotOf).filter((seen): seen is ReceivedSnapshot => seen !== undefined);

  const leastLoaded = (load: Map<PooledWorker, number>) =>
    workers.reduce((best, worker) => ((load.get(worker) ?? 0) < (load.get(best) ?? 0) ? worker : best));

  const freeUnusedLeases = (leases: Iterable<PartitionLease | undefined>) => {
    const inUse = new Set([...assigned.values()].map((entry) => entry.lease));
    for (const lease of leases) if (lease && !inUse.has(lease)) pool.leaseCells.free(lease);
  };

  const own = (
    partitions: readonly number[],
    lease: PartitionLease,
    fenced?: ReadonlyMap<number, TransactionalProducer>,
  ) => {
    const cell = pool.leaseCells.cellOf(lease);
    const load = new Map<PooledWorker, number>();
    for (const { worker } of assigned.values()) load.set(worker, (load.get(worker) ?? 0) + 1);
    const byWorker = new Map<PooledWorker, number[]>();
    for (const partition of partitions) {
      if (assigned.has(partition)) continue;
      const worker = leastLoaded(load);
      load.set(worker, (load.get(worker) ?? 0) + 1);
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), partition]);
      assigned.set(partition, { worker, lease, freshFrom: Number.POSITIVE_INFINITY });
    }
    for (const [worker, owned] of byWorker) {
      worker.request({ type: 'own', partitions: owned, cell, epoch: lease.epoch() }).then(() => {
        const freshFrom = worker.snapshotsReceived() + 1;
        for (const partition of owned) {
          const entry = assigned.get(partition);
          if (entry?.worker === worker && entry.lease === lease) entry.freshFrom = freshFrom;
        }
      }, options.onFatalError);
    }
    // the transactional ids are fenced (the old owner's transactions aborted): the workers'
    // producers take them over; these have nothing open and are not needed any more
    for (const producer of fenced?.values() ?? []) void producer.disconnect().catch(() => undefined);
  };

  const disown = async (partitions: readonly number[], { commit }: { commit: boolean }) => {
    const byWorker = new Map<PooledWorker, number[]>();
    const leases: (PartitionLease | undefined)[] = [];
    for (const partition of partitions) {
      const entry = assigned.get(partition);
      if (!entry) continue;
      assigned.delete(partition);
      leases.push(entry.lease);
      byWorker.set(entry.worker, [...(byWorker.get(entry.worker) ?? []), partition]);
    }
    await Promise.all(
      [...byWorker].map(([worker, owned]) => worker.request({ type: 'disown', partitions: owned, commit })),
    );
    freeUnusedLeases(leases);
  };

  const statuses = (): TaskStatus[] => {
    const now = performance.now();
    return owners().flatMap(({ partition, seen }) => {
      const found = (seen?.snapshot.statuses ?? []).filter((status) => status.partition === partition);
      // told to own it, not yet seen by the worker: the task is being created
      if (found.length === 0)
        return [{ partition, state: 'created', since: now, restoreDone: 0, restoreTotal: 0, attempt: 0 }];
      return found.map(({ sinceAgoMs, ...status }) => ({ ...status, since: seen!.at - sinceAgoMs }));
    });
  };

  const stopAll = async (commit: boolean) => {
    if (stopped) return;
    stopped = true;
    const leases = [...assigned.values()].map((entry) => entry.lease);
    assigned.clear();
    await Promise.all(workers.map((worker) => worker.request({ type: 'stop', commit })));
    for (const worker of workers) worker.clearSnapshot();
    freeUnusedLeases(leases);
  };

  /** The worker whose task for the partition runs (so has committed stores to read). */
  const runningOn = (partition: number) => {
    const owner = owners().find((candidate) => candidate.partition === partition);
    return owner?.seen?.snapshot.running.includes(partition) ? owner.worker : undefined;
  };

  const manager: TaskManager = {
    own,
    disown,
    onBatch: () => Promise.reject(new Error('batches are read in the worker threads')),
    owned: () => sorted(owners().map(({ partition }) => partition)),
    running: () => where((seen) => seen.snapshot.running),
    paused: () => where((seen) => seen.snapshot.paused),
    statuses,
    skipGoneInput: () => false,
    storeFor(partition, store) {
      const worker = runningOn(partition);
      return worker && remoteStore(worker, partition, store);
    },
    tableFor(partition, table) {
      const worker = runningOn(partition);
      return worker && remoteTable(worker, partition, table);
    },
    failingSince() {
      const since = seenSnapshots().flatMap(({ snapshot, at }) =>
        snapshot.failingAgoMs === undefined ? [] : [at - snapshot.failingAgoMs],
      );
      return since.length === 0 ? undefined : Math.min(...since);
    },
    restoring: () =>
      owners().some(({ seen }) => !seen) || seenSnapshots().some(({ snapshot }) => snapshot.restoring),
    closeAll: ({ commit }) => stopAll(commit),
  };

  return {
    manager,
    own,
    disown,
    lastFetchAt() {
      const fetched = seenSnapshots().flatMap(({ snapshot, at }) =>
        snapshot.lastFetchAgoMs === undefined ? [] : [at - snapshot.lastFetchAgoMs],
      );
      return fetched.length === 0 ? undefined : Math.max(...fetched);
    },
    stop: ({ commit }) => stopAll(commit),
  };
}
