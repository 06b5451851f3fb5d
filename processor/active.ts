/**
 * Active processing: tasks that consume, process and commit the partitions this instance owns.
 * Two ways to own partitions:
 * - by lease (cluster mode): the slot instance says which partitions it owns and under which
 *   lease; this instance reads them itself (assigned reading, no consumer group) and commits
 *   offsets to the app's group id, which has no members;
 * - by consumer group (no cluster): Kafka's group protocol assigns partitions and moves them
 *   when members come and go; it reads the app's source topic. Every other input (repartition
 *   topics, further source streams of a task) is read by assignment, following the group's
 *   assignment: a member owns partition p of every input of every sub-topology.
 */
import { type Clock, systemClock } from '../common/clock.ts';
import type {
  GroupConsumer,
  KafkaProducer,
  PartitionReader,
  TopicPartitionOffset,
} from '../common/kafka/index.ts';
import type { SubtopologyPlan } from './app/compile.ts';
import { groupPartitions } from './app-partitions.ts';
import type { ProcessorRuntime } from './runtime.ts';
import { createTaskManager, type TaskInput, type TaskManager } from './task/task-manager.ts';
import { combineTaskManagers } from './task/task-managers.ts';
import { inputOutOfRange, inputResetWarning } from './task/task-starter.ts';
import { consumerGroup } from './topics.ts';

/** Owning and disowning as the task manager does; disowning also stops reading the partitions. */
export interface ActiveProcessing extends Pick<TaskManager, 'own' | 'disown'> {
  manager: TaskManager;
  /** When (clock.now()) Kafka last answered a fetch: this instance can reach it. */
  lastFetchAt(): number | undefined;
  /** Stops reading and closes every task; with `commit`, commits pending work first. */
  stop(options: { commit: boolean }): Promise<void>;
}

function createManager(
  runtime: ProcessorRuntime,
  plan: SubtopologyPlan,
  input: TaskInput,
  atLeastOnce: Parameters<typeof createTaskManager>[0]['atLeastOnce'],
  extra: {
    clock?: Clock;
    onFirstCommit?: (partition: number, ms: number) => void;
    onFatalError: (error: unknown) => void;
  },
): TaskManager {
  const settings = runtime.config.processor;
  return createTaskManager({
    compiled: runtime.compiled,
    plan,
    kafka: runtime.kafka,
    admin: runtime.admin,
    serde: runtime.serde,
    encoders: runtime.encoders,
    tables: runtime.tables,
    guarantee: settings.guarantee,
    atLeastOnce,
    stateDir: settings.stateDir,
    commitIntervalMs: runtime.commitIntervalMs,
    cacheMaxEntries: settings.cacheMaxEntries,
    offsetReset: settings.offsetReset,
    logger: runtime.logger,
    metrics: runtime.metrics,
    input,
    ...extra,
  });
}

/** Cluster mode: the partitions given by `own` are read directly, without a consumer group. */
export async function startAssignedProcessing(
  runtime: ProcessorRuntime,
  options: {
    clock?: Clock;
    onFatalError: (error: unknown) => void;
    onFirstCommit?: (partition: number, ms: number) => void;
  },
): Promise<ActiveProcessing> {
  const { kafka, config } = runtime;
  const clock = options.clock ?? systemClock;
  const sharedProducer =
    config.processor.guarantee === 'at_least_once' ? await kafka.createProducer() : undefined;
  // the group has no members in cluster mode, so offsets are committed like an admin would
  const commitAsAdmin: TopicOffsetCommitter = (offsets) =>
    runtime.admin.setCommittedOffsets(consumerGroup(runtime.appId), offsets);
  const parts = runtime.compiled.subtopologies.map((plan) =>
    readSubtopology(
      runtime,
      plan,
      undefined,
      sharedProducer && { producer: sharedProducer, commitOffsets: commitAsAdmin },
      options,
    ),
  );
  const manager = combineTaskManagers(
    parts.map((part, index) => ({
      manager: part.manager,
      partitions: runtime.partitions.subtopologies[index]!,
    })),
  );
  let stopped = false;
  return {
    manager,
    own: (partitions, lease, fenced) => manager.own(partitions, lease, fenced),
    async disown(partitions, { commit }) {
      await Promise.all(parts.map((part) => part.remove(partitions)));
      await manager.disown(partitions, { commit });
    },
    lastFetchAt: () => {
      // a partition paused for the registry is not fetched meanwhile: when every owned one is,
      // Kafka's reachability cannot be observed and is not what stops progress (handing the
      // slot to a standby would not help: it would pause the same way)
      const owned = manager.owned();
      if (owned.length > 0 && manager.paused().length === owned.length) return clock.now();
      const fetched = parts
        .flatMap((part) => part.readers.map((reader) => reader.lastFetchAt()))
        .filter((time) => time !== undefined);
      return fetched.length === 0 ? undefined : Math.max(...fetched);
    },
    async stop({ commit }) {
      if (stopped) return;
      stopped = true;
      await Promise.all(parts.flatMap((part) => part.readers.map((reader) => reader.stop())));
      await manager.closeAll({ commit });
      await sharedProducer?.disconnect().catch(() => undefined);
    },
  };
}

/** Commits offsets of any topic to the app's group (at-least-once). */
type TopicOffsetCommitter = (offsets: readonly TopicPartitionOffset[]) => Promise<void>;

/** A sub-topology's tasks with the readers of its inputs read by assignment. */
interface ReadSubtopology {
  manager: TaskManager;
  readers: PartitionReader[];
  /** Stops reading these partitions of every input read by assignment. */
  remove(partitions: readonly number[]): Promise<void>;
}

/**
 * One sub-topology: a reader per input topic read by assignment (all of them, or all but the
 * group consumer's topic in group mode), and the tasks, which read partition p of each.
 */
function readSubtopology(
  runtime: ProcessorRuntime,
  plan: SubtopologyPlan,
  group: { topic: string; consumer: GroupConsumer } | undefined,
  atLeastOnce: { producer: KafkaProducer; commitOffsets: TopicOffsetCommitter } | undefined,
  options: { onFatalError: (error: unknown) => void },
): ReadSubtopology {
  const { kafka, config } = runtime;
  let manager: TaskManager | undefined;
  const assigned = [...new Set(plan.inputs.map((input) => input.topic))].filter(
    (topic) => topic !== group?.topic,
  );
  const readers = new Map(
    assigned.map((topic) => [
      topic,
      kafka.createPartitionReader({
        topic,
        isolation: 'read_committed',
        onBatch: (batch) => manager!.onBatch(batch),
        onOutOfRange: (partition, requested, logStart) => {
          // fail: stop reading (the reader passes this to onFatalError) before anything past the
          // gap is processed, so that an operator decides
          if (config.processor.offsetReset === 'fail')
            throw inputOutOfRange(topic, partition, requested, logStart);
          runtime.logger.warn(
            {
              topic,
              partition,
              requested,
              logStart,
              skipped: (BigInt(logStart) - BigInt(requested)).toString(),
            },
            inputResetWarning,
          );
          manager?.skipGoneInput(topic, partition, requested, logStart);
          return logStart;
        },
        onFatalError: options.onFatalError,
      }),
    ]),
  );
  const input: TaskInput = {
    seek(topic, partition, offset) {
      if (topic === group?.topic) group.consumer.seek(partition, offset);
      else readers.get(topic)!.seek(partition, offset);
    },
  };
  manager = createManager(runtime, plan, input, atLeastOnce, options);
  return {
    manager,
    readers: [...readers.values()],
    remove: async (partitions) => {
      await Promise.all(
        [...readers.values()].flatMap((reader) => partitions.map((partition) => reader.remove(partition))),
      );
    },
  };
}

/** Without a cluster: a consumer-group member; the group decides which partitions it owns. */
export async function startGroupProcessing(
  runtime: ProcessorRuntime,
  options: { onFatalError: (error: unknown) => void },
): Promise<ActiveProcessing> {
  const { config, compiled, kafka } = runtime;
  const settings = config.processor;
  const consumer = kafka.createGroupConsumer({
    groupId: consumerGroup(runtime.appId),
    topic: compiled.source.topic,
    partitionsInParallel: settings.partitionsInParallel,
    isolation: 'read_committed',
    sessionTimeoutMs: settings.sessionTimeoutMs,
  });
  const sharedProducer = settings.guarantee === 'at_least_once' ? await kafka.createProducer() : undefined;
  // the source topic (sub-topology 0's first input) comes through the group; every other input
  // is read by assignment, following the group's assignment; offsets go to the same group
  const group = { topic: compiled.source.topic, consumer };
  const parts = compiled.subtopologies.map((plan) =>
    readSubtopology(
      runtime,
      plan,
      group,
      sharedProducer && {
        producer: sharedProducer,
        commitOffsets: (offsets) => consumer.commitOffsets(offsets),
      },
      options,
    ),
  );
  const firstManager = parts[0]!.manager;
  const manager = combineTaskManagers(
    parts.map((part, index) => ({
      manager: part.manager,
      partitions: runtime.partitions.subtopologies[index]!,
    })),
  );
  // the group is the only authority here: no lease, epoch 0
  const unleased = { epoch: () => 0, canCommit: () => true };
  let lastBatchAt: number | undefined;
  await consumer.start({
    onAssignment(assigned) {
      // the input's partitions the group gave, and the numbers of larger sub-topologies with them
      const partitions = groupPartitions(runtime.partitions, assigned);
      const wanted = new Set(partitions);
      const lost = manager.owned().filter((partition) => !wanted.has(partition));
      void (async () => {
        await Promise.all(parts.map((part) => part.remove(lost)));
        await manager.disown(lost, { commit: false });
      })();
      manager.own(partitions, unleased);
    },
    onBatch(batch) {
      lastBatchAt = performance.now();
      return firstManager.onBatch(batch);
    },
    onFatalError: options.onFatalError,
  });

  let stopped = false;
  return {
    manager,
    own: (partitions, lease, fenced) => manager.own(partitions, lease, fenced),
    disown: (partitions, { commit }) => manager.disown(partitions, { commit }),
    lastFetchAt: () => lastBatchAt,
    async stop({ commit }) {
      if (stopped) return;
      stopped = true;
      await consumer.stop();
      await Promise.all(parts.flatMap((part) => part.readers.map((reader) => reader.stop())));
      await manager.closeAll({ commit });
      await consumer.disconnect();
      await sharedProducer?.disconnect();
    },
  };
}
