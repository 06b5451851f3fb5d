/**
 * Starting a task for a newly owned partition, in the order correctness needs:
 *   1. fence: connect the partition's transactional producer (aborts a previous owner's open
 *      transaction, so the changelog and the committed offsets are stable from here on);
 *   2. open the store and check its changelog position; wipe it when missing, unreadable or
 *      beyond the changelog's end (invariant 5);
 *   3. replay the changelog from that position to its end; a partitioned table's store likewise
 *      from its own topic (partitioned-table.ts), and wait until it reached the topic's end;
 *   4. read the group's committed offset of each input (after fencing, so it includes the old
 *      owner's last commit) and open the task there; if retention removed it, processor.offsetReset
 *      decides: the log start, or a fatal error.
 * A start is atomic: a failure at any step closes what the earlier steps opened (store and
 * producer), so a retry never finds the store still locked by this process.
 */
import type { Clock } from '../../common/clock.ts';
import { SluiceError } from '../../common/errors.ts';
import type {
  KafkaAdmin,
  KafkaClient,
  KafkaProducer,
  TransactionalProducer,
} from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { CompiledApp, SubtopologyPlan } from '../app/compile.ts';
import { taskId, taskMetricLabel } from '../app/topology.ts';
import { restoreFromChangelog } from '../changelog/restorer.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import { openCheckedStore, storePath } from '../state/store-opener.ts';
import type { GlobalTables } from '../tables/global-tables.ts';
import { openPartitionedTable, type PartitionedTable } from '../tables/partitioned-table.ts';
import { consumerGroup, deadLetterTopic, transactionalId } from '../topics.ts';
import type { CommitChannel, OffsetCommitter } from './commit.ts';
import { Task, type TaskStore } from './task.ts';

/** The right to commit for a partition: the lease of its slot (or a fixed one without leases). */
export interface PartitionLease {
  /** The lease epoch written into changelog headers (0 without leases). */
  epoch(): number;
  /** False while this instance may not commit (its lease is lost or unconfirmed): work waits. */
  canCommit(): boolean;
  /** A lease with a deadline (HeldLease's): what a worker thread needs to answer canCommit itself. */
  commitDeadline?(): number;
  onChange?(listener: () => void): void;
  /**
   * Kafka says another producer took the partition's transactional id: commits (and fencing it
   * back) wait until the lease is confirmed again by a renewal sent after this call.
   */
  reconfirm?(): void;
}

export interface TaskStarterOptions {
  compiled: CompiledApp;
  /** The sub-topology whose tasks this starts. */
  plan: SubtopologyPlan;
  kafka: KafkaClient;
  admin: KafkaAdmin;
  serde: Serde;
  /** The Avro encoder of each sink stream, by stream name. */
  encoders: ReadonlyMap<string, (value: unknown) => Buffer>;
  /** The instance's global tables: a task processes nothing before they are loaded. */
  tables?: GlobalTables;
  guarantee: 'exactly_once' | 'at_least_once';
  /** The shared producer and the offset committer for at-least-once commits. */
  atLeastOnce?: { producer: KafkaProducer; commitOffsets: OffsetCommitter };
  stateDir: string;
  commitIntervalMs: number;
  cacheMaxEntries: number;
  logger: Logger;
  metrics: ProcessorMetrics;
  /** When the committed input offset is gone (retention): continue from the log start, or stop. */
  offsetReset: 'earliest' | 'fail';
  /** Time for commit intervals and backoff. @default systemClock */
  clock?: Clock;
}

export interface StartedTask {
  task: Task;
  /** Restored changelog records (for logs and tests). */
  restored: number;
  producer?: TransactionalProducer;
  /** Set when the committed input offset was gone and the task starts from the log start instead. */
  inputReset?: { from: string; to: string; skipped: string };
}

export const inputResetWarning =
  'input offset out of range (retention removed records before they were processed): continuing from the log start (processor.offsetReset: earliest)';

/** With processor.offsetReset `fail`: what happened and what the operator can do. */
export function inputOutOfRange(topic: string, partition: number, requested: string, logStart: string) {
  return new SluiceError(
    'INPUT_OUT_OF_RANGE',
    `input ${topic}/${partition}: committed offset ${requested} is gone (the log starts at ${logStart}; retention removed the records before they were processed). Set processor.offsetReset to earliest to continue from the log start, or move the app's offsets with sluice reset`,
  );
}

export async function startTask(
  options: TaskStarterOptions,
  partition: number,
  lease: PartitionLease,
  extra: {
    /** False once the partition was disowned while its task starts: it must not fence the new owner. */
    stillOwned?: () => boolean;
    /** A producer already connected (so fencing older ones) when the instance took the lease. */
    fencedProducer?: TransactionalProducer;
    /** Told after every successful commit of the task. */
    onCommit?: () => void;
    /** Told as the changelog is replayed into the store. */
    onRestoreProgress?: (done: number, total: number) => void;
    /** Wipe the store first (the recovery policy found it corrupted). */
    wipeStore?: boolean;
  } = {},
): Promise<StartedTask> {
  const { compiled, plan, kafka, admin, logger } = options;
  const appId = compiled.app.id;
  // the first input names the transactional id (as when a task had one input)
  const topic = plan.input.topic;
  const log = logger.child({ task: taskId(plan.id, partition), partition });

  // 1.
  let producer: TransactionalProducer | undefined;
  let channel: CommitChannel;
  if (options.guarantee === 'exactly_once') {
    producer =
      extra.fencedProducer ??
      (await kafka.createTransactionalProducer(transactionalId(appId, topic, partition), {
        mayFence: () => lease.canCommit() && (extra.stillOwned?.() ?? true),
      }));
    channel = { guarantee: 'exactly_once', producer, groupId: consumerGroup(appId) };
  } else {
    if (!options.atLeastOnce) throw new Error('at_least_once needs the shared producer and offset committer');
    channel = { guarantee: 'at_least_once', ...options.atLeastOnce };
  }

  const stores: TaskStore[] = [];
  const partitionedTables = new Map<string, PartitionedTable>();
  try {
    // 2. + 3. for each store of the sub-topology
    let restored = 0;
    for (const storePlan of plan.stores) {
      const changelog = storePlan.changelogTopic;
      const offsets = (await admin.topicOffsets(changelog)).find((entry) => entry.partition === partition);
      if (!offsets) throw new Error(`changelog ${changelog} has no partition ${partition}`);
      const opened = await openCheckedStore(
        storePath(options.stateDir, appId, storePlan.name, partition),
        offsets,
        log,
        { wipe: extra.wipeStore },
      );
      stores.push({ plan: storePlan, store: opened.store });
      const result = await restoreFromChangelog({
        kafka,
        store: opened.store,
        topic: changelog,
        partition,
        from: opened.from,
        logger: log,
        onProgress: ({ done, total }) => {
          options.metrics.restoreDone.set({ partition: taskMetricLabel(plan.id, partition) }, done);
          options.metrics.restoreTotal.set({ partition: taskMetricLabel(plan.id, partition) }, total);
          extra.onRestoreProgress?.(done, total);
        },
      });
      restored += result.records;
    }

    // 3b. partitioned tables: restored from their own topics (the topic is the changelog)
    for (const table of compiled.topology.tables) {
      const joinsHere = table.joins.some((node) => compiled.topology.subtopologyOf.get(node) === plan.id);
      if (table.kind !== 'partitioned' || !joinsHere) continue;
      partitionedTables.set(
        table.name,
        await openPartitionedTable({
          plan: table,
          partition,
          appId,
          stateDir: options.stateDir,
          kafka,
          admin,
          serde: options.serde,
          logger: log,
          metrics: options.metrics,
          wipe: extra.wipeStore,
        }),
      );
    }
    await Promise.all([...partitionedTables.values()].map((table) => table.ready));

    // 4.
    const positions = new Map<string, string>();
    let inputReset: StartedTask['inputReset'];
    for (const inputTopic of new Set(plan.inputs.map((input) => input.topic))) {
      const resumed = await committedPosition(options, inputTopic, partition);
      positions.set(inputTopic, resumed.position);
      if (resumed.reset) {
        log.warn({ topic: inputTopic, ...resumed.reset }, inputResetWarning);
        inputReset ??= resumed.reset;
      }
    }
    const task = new Task({
      compiled,
      plan,
      partition,
      stores,
      deadLetterTopic: deadLetterTopic(appId),
      serde: options.serde,
      encoders: options.encoders,
      tables: options.tables,
      partitionedTables,
      channel,
      commitIntervalMs: options.commitIntervalMs,
      cacheMaxEntries: options.cacheMaxEntries,
      epoch: () => lease.epoch(),
      canCommit: () => lease.canCommit(),
      onCommit: extra.onCommit,
      purgeInput: (inputTopic, before) => admin.deleteRecords(inputTopic, [{ partition, offset: before }]),
      clock: options.clock,
      logger: log,
      metrics: options.metrics,
    });
    // joins against a half-read table would differ from a later replay's
    await options.tables?.ready();
    await task.open(positions);
    log.info({ positions: Object.fromEntries(positions), restored }, 'task running');
    return { task, restored, producer, inputReset };
  } catch (error) {
    for (const { store } of stores) await store.close().catch(() => undefined);
    for (const table of partitionedTables.values()) await table.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    throw error;
  }
}

/**
 * Where a task resumes reading an input partition: the group's committed offset, or the log start
 * when there is none; when retention removed it, processor.offsetReset decides.
 */
async function committedPosition(
  options: TaskStarterOptions,
  topic: string,
  partition: number,
): Promise<{ position: string; reset?: StartedTask['inputReset'] }> {
  const { admin, compiled } = options;
  const committed = (await admin.committedOffsets(consumerGroup(compiled.app.id), topic)).find(
    (e) => e.partition === partition,
  );
  const logStart =
    (await admin.topicOffsets(topic)).find((entry) => entry.partition === partition)?.low ?? '0';
  const position = committed?.offset;
  if (position === undefined || BigInt(position) < 0n) return { position: logStart };
  if (BigInt(position) >= BigInt(logStart)) return { position };
  // retention removed input this app never processed (it was stopped for longer)
  if (options.offsetReset === 'fail') throw inputOutOfRange(topic, partition, position, logStart);
  return {
    position: logStart,
    reset: { from: position, to: logStart, skipped: (BigInt(logStart) - BigInt(position)).toString() },
  };
}
