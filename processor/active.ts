/**
 * Active processing: a consumer-group member whose tasks consume, process and commit the
 * partitions the group gives it. Used alone (no cluster) or as a slot's active.
 */
import type { AssignmentStrategy, TransactionalProducer } from '../common/kafka/index.ts';
import type { ProcessorRuntime } from './runtime.ts';
import { createTaskManager, type TaskManager } from './task/task-manager.ts';
import { consumerGroup } from './topics.ts';

export interface ActiveProcessing {
  manager: TaskManager;
  /** Stops consuming; with `commit`, commits pending work first; leaves the group. */
  stop(options: { commit: boolean }): Promise<void>;
}

export async function startActive(
  runtime: ProcessorRuntime,
  options: {
    strategy?: AssignmentStrategy;
    epoch: () => number;
    canCommit: () => boolean;
    /** Producers connected (so fencing older ones) when the instance took over its slot. */
    fencedProducers?: Map<number, TransactionalProducer>;
    onFatalError: (error: unknown) => void;
  },
): Promise<ActiveProcessing> {
  const { config, compiled, kafka } = runtime;
  const settings = config.processor;
  const consumer = kafka.createGroupConsumer({
    groupId: consumerGroup(runtime.appId),
    topic: compiled.source.topic,
    partitionsInParallel: settings.partitionsInParallel,
    isolation: 'read_committed',
    sessionTimeoutMs: settings.sessionTimeoutMs,
    strategy: options.strategy,
  });
  const sharedProducer = settings.guarantee === 'at_least_once' ? await kafka.createProducer() : undefined;
  const fenced = options.fencedProducers ?? new Map<number, TransactionalProducer>();
  const manager = createTaskManager({
    compiled,
    kafka,
    admin: runtime.admin,
    serde: runtime.serde,
    encodeSink: runtime.encodeSink,
    guarantee: settings.guarantee,
    atLeastOnce: sharedProducer ? { producer: sharedProducer, consumer } : undefined,
    stateDir: settings.stateDir,
    commitIntervalMs: runtime.commitIntervalMs,
    cacheMaxEntries: settings.cacheMaxEntries,
    epoch: options.epoch,
    canCommit: options.canCommit,
    takeFencedProducer: (partition) => {
      const producer = fenced.get(partition);
      fenced.delete(partition);
      return producer;
    },
    logger: runtime.logger,
    metrics: runtime.metrics,
    consumer,
  });
  await consumer.start({
    onAssignment: (partitions) => manager.onAssignment(partitions),
    onBatch: (batch) => manager.onBatch(batch),
    onFatalError: options.onFatalError,
  });

  let stopped = false;
  return {
    manager,
    async stop({ commit }) {
      if (stopped) return;
      stopped = true;
      await consumer.stop();
      await manager.closeAll({ commit });
      await consumer.disconnect();
      await sharedProducer?.disconnect();
      await Promise.all([...fenced.values()].map((producer) => producer.disconnect().catch(() => undefined)));
      fenced.clear();
    },
  };
}
