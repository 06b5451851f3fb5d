/**
 * Keeps one task per owned partition. The owner (a lease holder, or a consumer-group member
 * without leases) says which partitions it owns and under which lease; the manager starts their
 * tasks, routes batches, drives the commit timer, and restarts a task that failed or was fenced,
 * with backoff, for as long as the partition is owned. A task (re)starts only while its lease
 * allows commits: a stale owner never fences the rightful one.
 */
import { type Clock, systemClock } from '../../common/clock.ts';
import { isSluiceError } from '../../common/errors.ts';
import type { ConsumedBatch, TransactionalProducer } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { Task } from './task.ts';
import { type PartitionLease, type StartedTask, startTask, type TaskStarterOptions } from './task-starter.ts';

/** Where the tasks' input comes from: a seek makes the next batch of a partition start there. */
export interface TaskInput {
  seek(partition: number, offset: string): void;
}

interface Entry {
  partition: number;
  lease: PartitionLease;
  started: Promise<StartedTask>;
  /** Consecutive failed starts or runs; reset by a successful commit. */
  attempt: number;
}

export interface TaskManager {
  /** Starts tasks for newly owned partitions (producers already fenced for them may be given). */
  own(
    partitions: readonly number[],
    lease: PartitionLease,
    fenced?: ReadonlyMap<number, TransactionalProducer>,
  ): void;
  /** Closes the tasks of partitions no longer owned; with `commit`, their pending work first. */
  disown(partitions: readonly number[], options: { commit: boolean }): Promise<void>;
  onBatch(batch: ConsumedBatch): Promise<void>;
  /** Partitions with a running task. */
  running(): number[];
  /** Partitions owned now (running or starting). */
  owned(): number[];
  /** The committed store of a running task. */
  storeFor(partition: number): KeyValueStore | undefined;
  /** Since when (clock.now()) some owned partition keeps failing to start or run; undefined when none does. */
  failingSince(): number | undefined;
  /** True while some owned partition's task is starting (restoring) and has not failed. */
  restoring(): boolean;
  /** Commits and closes every task (clean shutdown), or just closes them. */
  closeAll(options: { commit: boolean }): Promise<void>;
}

/** How long a batch is held back while its lease may not commit, before it is fetched again. */
const holdMs = 200;

export function createTaskManager(
  options: TaskStarterOptions & {
    input: TaskInput;
    logger: Logger;
    metrics: ProcessorMetrics;
    clock?: Clock;
    /** Told once per task start when its first commit succeeds, with the time since the start began. */
    onFirstCommit?: (partition: number, ms: number) => void;
  },
): TaskManager {
  const entries = new Map<number, Entry>();
  const runningTasks = new Map<number, Task>();
  const failing = new Map<number, number>();
  const { input, logger, metrics } = options;
  const clock = options.clock ?? systemClock;

  const updateGauges = () => {
    metrics.tasks.set({ state: 'running' }, runningTasks.size);
    metrics.tasks.set({ state: 'starting' }, entries.size - runningTasks.size);
  };

  const backoffMs = (attempt: number) => Math.min(10_000, 200 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

  const start = (
    partition: number,
    lease: PartitionLease,
    attempt: number,
    fencedProducer?: TransactionalProducer,
  ): Entry => {
    const begunAt = clock.now();
    let committed = false;
    const entry: Entry = { partition, lease, attempt, started: undefined as unknown as Promise<StartedTask> };
    entry.started = (async () => {
      const result = await startTask(options, partition, lease, {
        fencedProducer,
        onCommit: () => {
          entry.attempt = 0;
          if (committed) return;
          committed = true;
          options.onFirstCommit?.(partition, clock.now() - begunAt);
        },
      });
      if (entries.get(partition) !== entry) {
        // disowned while starting: close what was opened
        await result.task.close({ commit: false });
        await result.producer?.disconnect().catch(() => undefined);
        throw new Error(`partition ${partition} was disowned while its task started`);
      }
      runningTasks.set(partition, result.task);
      failing.delete(partition);
      input.seek(partition, result.task.seekTarget ?? result.task.inputPosition);
      updateGauges();
      return result;
    })();
    entry.started.catch((error) => {
      if (entries.get(partition) !== entry) return;
      if (!failing.has(partition)) failing.set(partition, clock.now());
      const delay = backoffMs(attempt);
      logger.error({ partition, err: error, retryInMs: Math.round(delay) }, 'task failed to start');
      restartLater(entry, delay);
    });
    entries.set(partition, entry);
    updateGauges();
    return entry;
  };

  /** Starts the partition's task again after `delay`, once its lease allows commits. */
  const restartLater = (entry: Entry, delay: number) => {
    clock.after(delay, () => {
      if (entries.get(entry.partition) !== entry) return;
      if (!entry.lease.canCommit()) return restartLater(entry, holdMs);
      start(entry.partition, entry.lease, entry.attempt + 1);
    });
  };

  const close = async (partition: number, commit: boolean) => {
    const entry = entries.get(partition);
    entries.delete(partition);
    runningTasks.delete(partition);
    failing.delete(partition);
    updateGauges();
    const result = await entry?.started.catch(() => undefined);
    if (!result) return;
    await result.task.close({ commit });
    await result.producer?.disconnect().catch(() => undefined);
  };

  /**
   * After a failed batch or commit: the partition is still ours, so its task starts afresh from
   * the store and changelog (the uncommitted work is redone), after a backoff. Fenced means some
   * other producer took the transactional id: our restart fences it back, but only while our
   * lease allows commits.
   */
  const recover = async (entry: Entry, error: unknown) => {
    const { partition } = entry;
    if (!failing.has(partition)) failing.set(partition, clock.now());
    const delay = backoffMs(entry.attempt);
    logger.warn(
      { partition, err: error, retryInMs: Math.round(delay) },
      isSluiceError(error, 'KAFKA_FENCED')
        ? 'fenced by another producer: restarting the task under our lease'
        : 'task failed: restarting it from its store and changelog',
    );
    runningTasks.delete(partition);
    updateGauges();
    const result = await entry.started.catch(() => undefined);
    await result?.task.close({ commit: false });
    await result?.producer?.disconnect().catch(() => undefined);
    if (entries.get(partition) === entry) restartLater(entry, delay);
  };

  const commitTimer = clock.every(25, () => {
    for (const [partition, task] of runningTasks) {
      task.commitIfDue().catch((error) => {
        const entry = entries.get(partition);
        if (entry && runningTasks.get(partition) === task) void recover(entry, error);
      });
    }
  });

  return {
    own(partitions, lease, fenced) {
      for (const partition of partitions) {
        if (entries.has(partition)) continue;
        logger.info({ partition }, 'partition owned');
        start(partition, lease, 0, fenced?.get(partition));
      }
    },

    async disown(partitions, { commit }) {
      await Promise.all(
        partitions
          .filter((partition) => entries.has(partition))
          .map((partition) => {
            logger.info({ partition }, 'partition released');
            return close(partition, commit);
          }),
      );
    },

    async onBatch(batch) {
      const entry = entries.get(batch.partition);
      if (!entry) return;
      // a consumer-group member must stay in its group while the task restores
      const heartbeat = clock.every(1000, () => void batch.heartbeat().catch(() => undefined));
      let started: StartedTask;
      try {
        started = await entry.started;
      } catch {
        return;
      } finally {
        heartbeat.cancel();
      }
      const { task } = started;
      if (entries.get(batch.partition) !== entry || task.status !== 'running') return;
      if (!entry.lease.canCommit()) {
        // nothing processed may pile up in memory while we may not commit: fetch it again later
        await new Promise((resolve) => clock.after(holdMs, () => resolve(undefined)));
        if (entries.get(batch.partition) === entry && task.status === 'running') {
          input.seek(batch.partition, task.refetch());
        }
        return;
      }
      try {
        await task.processBatch(batch);
      } catch (error) {
        if (entries.get(batch.partition) === entry && runningTasks.get(batch.partition) === task) {
          await recover(entry, error);
        }
      }
    },

    running: () => [...runningTasks.keys()].sort((a, b) => a - b),
    owned: () => [...entries.keys()].sort((a, b) => a - b),
    storeFor: (partition) => runningTasks.get(partition)?.store,
    failingSince: () => (failing.size === 0 ? undefined : Math.min(...failing.values())),
    restoring: () =>
      [...entries.keys()].some((partition) => !runningTasks.has(partition) && !failing.has(partition)),

    async closeAll({ commit }) {
      commitTimer.cancel();
      await Promise.all([...entries.keys()].map((partition) => close(partition, commit)));
    },
  };
}
