/**
 * Keeps one task per owned partition: starts tasks for partitions the group assigns, closes
 * those it takes away, routes batches, restarts a task that failed, and drives the commit timer.
 * kafkajs has no blocking revoke hook: a partition taken away mid-work loses its uncommitted
 * work, and the transaction (fenced by the new owner) keeps that safe.
 */
import { isSluiceError } from '../../common/errors.ts';
import type { ConsumedBatch, GroupConsumer } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { Task } from './task.ts';
import { type StartedTask, startTask, type TaskStarterOptions } from './task-starter.ts';

interface Slot {
  partition: number;
  started: Promise<StartedTask>;
}

export interface TaskManager {
  onAssignment(partitions: readonly number[]): void;
  onBatch(batch: ConsumedBatch): Promise<void>;
  /** Partitions with a running task. */
  running(): number[];
  /** Partitions owned now (running or starting). */
  owned(): number[];
  /** The committed store of a running task. */
  storeFor(partition: number): KeyValueStore | undefined;
  /** Commits and closes every task (clean shutdown), or just closes them. */
  closeAll(options: { commit: boolean }): Promise<void>;
}

export function createTaskManager(
  options: TaskStarterOptions & { consumer: GroupConsumer; logger: Logger; metrics: ProcessorMetrics },
): TaskManager {
  const slots = new Map<number, Slot>();
  const runningTasks = new Map<number, Task>();
  const { consumer, logger, metrics } = options;

  const updateGauges = () => {
    metrics.tasks.set({ state: 'running' }, runningTasks.size);
    metrics.tasks.set({ state: 'starting' }, slots.size - runningTasks.size);
  };

  const start = (partition: number, attempt = 0): Slot => {
    const started = (async () => {
      const result = await startTask(options, partition);
      runningTasks.set(partition, result.task);
      consumer.seek(partition, result.task.seekTarget ?? result.task.inputPosition);
      updateGauges();
      return result;
    })();
    const slot: Slot = { partition, started };
    started.catch((error) => {
      if (slots.get(partition) !== slot) return;
      const delay = Math.min(10_000, 500 * 2 ** attempt);
      logger.error({ partition, err: error, retryInMs: delay }, 'task failed to start');
      setTimeout(() => {
        if (slots.get(partition) === slot) slots.set(partition, start(partition, attempt + 1));
      }, delay).unref();
    });
    slots.set(partition, slot);
    updateGauges();
    return slot;
  };

  const close = async (partition: number, commit: boolean) => {
    const slot = slots.get(partition);
    slots.delete(partition);
    runningTasks.delete(partition);
    updateGauges();
    const result = await slot?.started.catch(() => undefined);
    if (!result) return;
    await result.task.close({ commit });
    await result.producer?.disconnect().catch(() => undefined);
  };

  /**
   * After a failed batch or commit. Fenced means another instance owns the partition now: stop,
   * and start again only if a later assignment gives it back. Anything else: start afresh from
   * the store and changelog (the uncommitted work is redone).
   */
  const recover = async (partition: number, error: unknown) => {
    if (isSluiceError(error, 'KAFKA_FENCED')) {
      logger.warn(
        { partition },
        'fenced by a newer owner: closing the task until the partition is assigned again',
      );
      await close(partition, false);
      return;
    }
    logger.warn({ partition, err: error }, 'restarting the task from its store and changelog');
    await close(partition, false);
    start(partition);
  };

  const timer = setInterval(() => {
    for (const [partition, task] of runningTasks) {
      task.commitIfDue().catch((error) => {
        if (runningTasks.get(partition) === task) void recover(partition, error);
      });
    }
  }, 25);
  timer.unref();

  return {
    onAssignment(partitions) {
      const wanted = new Set(partitions);
      for (const partition of [...slots.keys()]) {
        if (!wanted.has(partition)) {
          logger.info({ partition }, 'partition revoked');
          void close(partition, false);
        }
      }
      for (const partition of wanted) {
        if (!slots.has(partition)) {
          logger.info({ partition }, 'partition assigned');
          start(partition);
        }
      }
    },

    async onBatch(batch) {
      const slot = slots.get(batch.partition);
      if (!slot) return;
      // keep the membership alive while the task restores
      const heartbeat = setInterval(() => void batch.heartbeat().catch(() => undefined), 1000);
      let started: StartedTask;
      try {
        started = await slot.started;
      } catch {
        return;
      } finally {
        clearInterval(heartbeat);
      }
      if (slots.get(batch.partition) !== slot || started.task.status !== 'running') return;
      try {
        await started.task.processBatch(batch);
      } catch (error) {
        if (slots.get(batch.partition) === slot) await recover(batch.partition, error);
      }
    },

    running: () => [...runningTasks.keys()].sort((a, b) => a - b),
    owned: () => [...slots.keys()].sort((a, b) => a - b),
    storeFor: (partition) => runningTasks.get(partition)?.store,

    async closeAll({ commit }) {
      clearInterval(timer);
      await Promise.all([...slots.keys()].map((partition) => close(partition, commit)));
    },
  };
}
