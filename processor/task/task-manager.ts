/**
 * Keeps one task per owned partition. The owner (a lease holder, or a consumer-group member
 * without leases) says which partitions it owns and under which lease; the manager starts their
 * tasks, routes batches, drives the commit timer, and applies the recovery policy
 * (recovery-policy.ts) to every failure of a start, a batch or a commit, for as long as the
 * partition is owned: pause the partition, restart its task (wiping a corrupted store), or stop
 * the instance. A task (re)starts only while its lease allows commits: a stale owner never fences
 * the rightful one. Each partition's state lives in its TaskLifecycle (task-lifecycle.ts).
 */
import { type Clock, systemClock } from '../../common/clock.ts';
import { describeError, kindOf } from '../../common/errors.ts';
import type { ConsumedBatch, TransactionalProducer } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import { taskId, taskMetricLabel } from '../app/topology.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { TableRows } from '../tables/partitioned-table.ts';
import { decideRecovery, type RecoveryDecision } from './recovery-policy.ts';
import type { Task } from './task.ts';
import { TaskLifecycle, type TaskStatus, taskStates } from './task-lifecycle.ts';
import { type PartitionLease, type StartedTask, startTask, type TaskStarterOptions } from './task-starter.ts';

/** Where the tasks' inputs come from: a seek makes the next batch of a topic's partition start there. */
export interface TaskInput {
  seek(topic: string, partition: number, offset: string): void;
}

/** Asks for every input of the task again from its position (after a start or a pause). */
function seekAll(input: TaskInput, partition: number, task: Task, refetch: boolean): void {
  for (const topic of task.inputTopics) {
    const offset = refetch ? task.refetch(topic) : (task.seekTarget(topic) ?? task.inputPosition(topic));
    input.seek(topic, partition, offset);
  }
}

interface Entry {
  partition: number;
  lease: PartitionLease;
  started: Promise<StartedTask>;
  lifecycle: TaskLifecycle;
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
  /** Partitions owned now (in any state). */
  owned(): number[];
  /** Partitions paused because a dependency other than their input (the registry) is unavailable. */
  paused(): number[];
  /** Each owned partition's task state, why it is suspended, and its restore progress. */
  statuses(): TaskStatus[];
  /**
   * The offset `requested` of input `topic`'s `partition` is gone (retention): its running task
   * continues from `logStart`. Returns false when no running task was waiting for that offset.
   */
  skipGoneInput(topic: string, partition: number, requested: string, logStart: string): boolean;
  /** The committed store of a running task, by store name. */
  storeFor(partition: number, store: string): KeyValueStore | undefined;
  /** A running task's partition of a partitioned table, by table name. */
  tableFor(partition: number, table: string): TableRows | undefined;
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
    /** Told once per task start when its first commit succeeds, with the time since the start began. */
    onFirstCommit?: (partition: number, ms: number) => void;
    /** A failure no restart can fix (authorization, configuration): the instance must stop. */
    onFatalError?: (error: unknown) => void;
    /** Random numbers for the backoff's jitter. @default Math.random */
    random?: () => number;
    /** Starts one task (fence, restore, open). @default startTask (task-starter.ts); unit tests pass a fake */
    startTask?: typeof startTask;
  },
): TaskManager {
  const entries = new Map<number, Entry>();
  const runningTasks = new Map<number, Task>();
  /** Partitions whose task failed (not paused for a dependency), since when: the lease's progress check. */
  const failing = new Map<number, number>();
  const pausedNow = new Set<number>();
  /**
   * Partitions read again after a pause, with each input's position they were paused at: they
   * stay `suspended` until a batch moves one past it (the dependency may still be down).
   */
  const resumedAt = new Map<number, Map<string, string>>();
  const { input, logger, metrics } = options;
  const clock: Clock = options.clock ?? systemClock;
  const starterOptions = { ...options, clock };
  const startOne = options.startTask ?? startTask;

  const updateGauges = () => {
    const counts = new Map(taskStates.map((state) => [state, 0]));
    for (const { lifecycle } of entries.values())
      counts.set(lifecycle.state, counts.get(lifecycle.state)! + 1);
    for (const [state, count] of counts) if (state !== 'closed') metrics.tasks.set({ state }, count);
  };

  const decide = (error: unknown, entry: Entry, taskIntact: boolean): RecoveryDecision => {
    // fenced: maybe by the lease's new holder (our lease may look valid only by our own clock,
    // e.g. after a freeze); the restart would fence it back, so the lease is confirmed first
    if (kindOf(error) === 'fenced') entry.lease.reconfirm?.();
    const decision = decideRecovery(error, {
      attempt: entry.lifecycle.attempt,
      taskIntact,
      random: options.random,
    });
    entry.lifecycle.attempt += 1;
    return decision;
  };

  const stopInstance = (entry: Entry, error: unknown) => {
    logger.fatal({ partition: entry.partition, err: error }, `cannot recover: ${describeError(error)}`);
    entry.lifecycle.to('suspended', describeError(error));
    options.onFatalError?.(error);
  };

  const start = (
    partition: number,
    lease: PartitionLease,
    lifecycle: TaskLifecycle,
    extra: { fencedProducer?: TransactionalProducer; wipeStore?: boolean } = {},
  ): Entry => {
    const begunAt = clock.now();
    let committed = false;
    const entry: Entry = {
      partition,
      lease,
      lifecycle,
      started: undefined as unknown as Promise<StartedTask>,
    };
    entries.set(partition, entry);
    lifecycle.to('restoring');
    entry.started = (async () => {
      const result = await startOne(starterOptions, partition, lease, {
        stillOwned: () => entries.get(partition) === entry,
        fencedProducer: extra.fencedProducer,
        wipeStore: extra.wipeStore,
        onRestoreProgress: (done, total) => lifecycle.restoreProgress(done, total),
        onCommit: () => {
          lifecycle.attempt = 0;
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
      resumedAt.delete(partition);
      if (result.inputReset) recordInputReset(partition, lifecycle, result.inputReset);
      lifecycle.to('running');
      seekAll(input, partition, result.task, false);
      return result;
    })();
    entry.started.catch((error) => {
      if (entries.get(partition) !== entry) return;
      const decision = decide(error, entry, false);
      if (decision.action === 'stop-instance') return stopInstance(entry, error);
      if (!failing.has(partition)) failing.set(partition, clock.now());
      logger.error(
        { partition, err: error, retryInMs: Math.round(decision.delayMs) },
        'task failed to start',
      );
      suspendForRestart(entry, decision);
    });
    updateGauges();
    return entry;
  };

  const recordInputReset = (
    partition: number,
    lifecycle: TaskLifecycle,
    reset: NonNullable<StartedTask['inputReset']>,
  ) => {
    lifecycle.inputReset = reset;
    const label = taskMetricLabel(options.plan.id, partition);
    metrics.inputOffsetResets.inc({ partition: label });
    metrics.inputSkippedRecords.inc({ partition: label }, Number(reset.skipped));
  };

  /** Marks the partition suspended (or corrupted) and starts its task again after the decision's delay. */
  const suspendForRestart = (entry: Entry, decision: RecoveryDecision & { action: 'restart' | 'pause' }) => {
    const wipeStore = decision.action === 'restart' && decision.wipeStore;
    entry.lifecycle.to(wipeStore ? 'corrupted' : 'suspended', decision.reason);
    restartLater(entry, decision.delayMs, wipeStore);
  };

  /** Starts the partition's task again after `delay`, once its lease allows commits. */
  const restartLater = (entry: Entry, delay: number, wipeStore: boolean) => {
    clock.after(delay, () => {
      if (entries.get(entry.partition) !== entry) return;
      if (!entry.lease.canCommit()) return restartLater(entry, holdMs, wipeStore);
      start(entry.partition, entry.lease, entry.lifecycle, { wipeStore });
    });
  };

  const close = async (partition: number, commit: boolean) => {
    const entry = entries.get(partition);
    entries.delete(partition);
    runningTasks.delete(partition);
    failing.delete(partition);
    pausedNow.delete(partition);
    resumedAt.delete(partition);
    entry?.lifecycle.to('closed');
    updateGauges();
    const result = await entry?.started.catch(() => undefined);
    if (!result) return;
    await result.task.close({ commit });
    await result.producer?.disconnect().catch(() => undefined);
  };

  /** Waits `ms` on the clock (a consumer-group member keeps heartbeating meanwhile). */
  const hold = async (ms: number, batch: ConsumedBatch) => {
    const heartbeat = clock.every(1000, () => void batch.heartbeat().catch(() => undefined));
    await new Promise((resolve) => clock.after(ms, () => resolve(undefined)));
    heartbeat.cancel();
  };

  /**
   * After a failed batch or commit, as the policy decides. A pause keeps the task (nothing it
   * holds was touched) and reads the partition again from its position after the backoff. A
   * restart closes the task, whose uncommitted work is redone by the next one from the store and
   * changelog. Fenced means some other producer took the transactional id: our restart fences it
   * back, but only while our lease allows commits.
   */
  const recover = async (entry: Entry, task: Task, error: unknown, batch?: ConsumedBatch) => {
    const { partition } = entry;
    const decision = decide(error, entry, task.status === 'running');
    if (decision.action === 'stop-instance') return stopInstance(entry, error);
    if (decision.action === 'pause') {
      logger.warn(
        { partition, err: error, retryInMs: Math.round(decision.delayMs) },
        'a dependency is unavailable: partition paused, reading it again after the backoff',
      );
      entry.lifecycle.to('suspended', decision.reason);
      pausedNow.add(partition);
      updateGauges();
      if (batch) await hold(decision.delayMs, batch);
      else await new Promise((resolve) => clock.after(decision.delayMs, () => resolve(undefined)));
      if (
        entries.get(partition) !== entry ||
        runningTasks.get(partition) !== task ||
        task.status !== 'running'
      )
        return;
      pausedNow.delete(partition);
      updateGauges();
      resumedAt.set(partition, new Map(task.inputTopics.map((topic) => [topic, task.inputPosition(topic)])));
      seekAll(input, partition, task, true);
      return;
    }
    pausedNow.delete(partition);
    if (!failing.has(partition)) failing.set(partition, clock.now());
    logger.warn(
      { partition, err: error, retryInMs: Math.round(decision.delayMs) },
      kindOf(error) === 'fenced'
        ? 'fenced by another producer: restarting the task under our lease'
        : decision.wipeStore
          ? 'task store corrupted: wiping it and restoring from the changelog'
          : 'task failed: restarting it from its store and changelog',
    );
    runningTasks.delete(partition);
    suspendForRestart(entry, decision);
    updateGauges();
    const result = await entry.started.catch(() => undefined);
    await result?.task.close({ commit: false });
    await result?.producer?.disconnect().catch(() => undefined);
  };

  const commitTimer = clock.every(25, () => {
    for (const [partition, task] of runningTasks) {
      task.commitIfDue().catch((error) => {
        const entry = entries.get(partition);
        if (entry && runningTasks.get(partition) === task) void recover(entry, task, error);
      });
    }
  });

  return {
    own(partitions, lease, fenced) {
      for (const partition of partitions) {
        if (entries.has(partition)) continue;
        logger.info({ partition }, 'partition owned');
        const lifecycle = new TaskLifecycle(partition, () => clock.now(), updateGauges);
        start(partition, lease, lifecycle, { fencedProducer: fenced?.get(partition) });
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
          input.seek(batch.topic, batch.partition, task.refetch(batch.topic));
        }
        return;
      }
      try {
        await task.processBatch(batch);
        const pausedAt = resumedAt.get(batch.partition)?.get(batch.topic);
        if (pausedAt !== undefined && BigInt(task.inputPosition(batch.topic)) > BigInt(pausedAt)) {
          resumedAt.delete(batch.partition);
          entry.lifecycle.to('running');
          updateGauges();
        }
      } catch (error) {
        if (entries.get(batch.partition) === entry && runningTasks.get(batch.partition) === task) {
          await recover(entry, task, error, batch);
        }
      }
    },

    running: () => [...runningTasks.keys()].sort((a, b) => a - b),
    owned: () => [...entries.keys()].sort((a, b) => a - b),
    paused: () => [...pausedNow].sort((a, b) => a - b),
    statuses: () =>
      [...entries.values()]
        .map(({ lifecycle }) => ({
          ...lifecycle.status(),
          task: taskId(options.plan.id, lifecycle.partition),
        }))
        .sort((a, b) => a.partition - b.partition),
    skipGoneInput(topic, partition, requested, logStart) {
      const task = runningTasks.get(partition);
      const entry = entries.get(partition);
      if (!task || !entry) return false;
      const skipped = task.skipTo(topic, requested, logStart);
      if (skipped === 0n) return false;
      recordInputReset(partition, entry.lifecycle, {
        from: requested,
        to: logStart,
        skipped: skipped.toString(),
      });
      return true;
    },
    storeFor: (partition, store) => runningTasks.get(partition)?.storeNamed(store),
    tableFor: (partition, table) => runningTasks.get(partition)?.partitionedTable(table),
    failingSince: () => (failing.size === 0 ? undefined : Math.min(...failing.values())),
    restoring: () =>
      [...entries.keys()].some((partition) => !runningTasks.has(partition) && !failing.has(partition)),

    async closeAll({ commit }) {
      commitTimer.cancel();
      await Promise.all([...entries.keys()].map((partition) => close(partition, commit)));
    },
  };
}
