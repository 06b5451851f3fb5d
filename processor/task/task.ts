/**
 * A task owns partition p of one sub-topology: partition p of each of its input topics. It
 * decodes their batches, runs the sub-topology over them (subtopology-runner.ts), keeps each
 * store's state in a write cache over RocksDB, and commits every commit interval (commit.ts),
 * all inputs' offsets in the same transaction. It owns the stream time (the largest event time
 * seen over all its inputs, as Kafka Streams) and the input positions (input-positions.ts).
 *
 *   starting ──► running ──► closed
 *                   └──────► failed (a commit or store failure: the manager starts a new task)
 *
 * That is one incarnation's machine; the partition's state across restarts (restoring,
 * suspended, corrupted...) is its TaskLifecycle (task-lifecycle.ts), kept by the task manager.
 */
import { type Clock, systemClock } from '../../common/clock.ts';
import type { ConsumedBatch, IncomingRecord, OutgoingRecord } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import { createStateMachine, type StateMachine, type Transitions } from '../../common/state-machine.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { Stream } from '../../schemas/streams.ts';
import { type CompiledApp, eventTimeOf, type SubtopologyPlan } from '../app/compile.ts';
import { decodeRepartitionValue } from '../app/repartition-codec.ts';
import { type StorePlan, taskMetricLabel } from '../app/topology.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import type { StoredAggregate } from '../operators/aggregate-operator.ts';
import type { Item, ItemOrigin } from '../operators/operator.ts';
import { metaKey } from '../state/key-codec.ts';
import type { KeyValueStore } from '../state/store.ts';
import { type Change, jsonCodec, WriteCache } from '../state/write-cache.ts';
import type { PartitionedTable } from '../tables/partitioned-table.ts';
import { type CommitChannel, commitWork } from './commit.ts';
import { type DeadLetterStage, deadLetter } from './dead-letters.ts';
import { InputPositions } from './input-positions.ts';
import {
  createSubtopologyRunner,
  type SubtopologyRunner,
  type SubtopologyRunnerOptions,
} from './subtopology-runner.ts';

export type TaskState = 'starting' | 'running' | 'closed' | 'failed';

const transitions: Transitions<TaskState> = {
  starting: ['running', 'closed', 'failed'],
  running: ['closed', 'failed'],
  closed: [],
  failed: ['closed'],
};

export const streamTimeKey = metaKey('stream-time');

/** Kafka Streams purges consumed repartition records every 30 s too (repartition.purge.interval.ms). */
export const purgeIntervalMs = 30_000;

export interface TaskStore {
  plan: StorePlan;
  store: KeyValueStore;
}

/** A store of the task with its write cache: what the aggregation reads and what commits flush. */
interface CachedStore extends TaskStore {
  cache: WriteCache<StoredAggregate>;
}

export interface TaskOptions {
  compiled: CompiledApp;
  /** The sub-topology this task runs over `partition` of its input. */
  plan: SubtopologyPlan;
  partition: number;
  /** The task's stores (one per aggregation of its sub-topology; none when stateless), restored. */
  stores: readonly TaskStore[];
  deadLetterTopic: string;
  serde: Serde;
  /** The Avro encoder of each sink stream, by stream name. */
  encoders: ReadonlyMap<string, (value: unknown) => Buffer>;
  /** The global tables the app joins with (loaded before the task opens). */
  tables?: SubtopologyRunnerOptions['tables'];
  /** The partitions of partitioned tables this task joins with, restored; closed with the task. */
  partitionedTables?: ReadonlyMap<string, PartitionedTable>;
  channel: CommitChannel;
  commitIntervalMs: number;
  cacheMaxEntries: number;
  /** The lease epoch written into changelog headers (0 without leases). */
  epoch: () => number;
  /** False while this instance may not commit (its lease is lost or unconfirmed): work waits. */
  canCommit: () => boolean;
  /** Told after every successful commit. */
  onCommit?: () => void;
  /** Deletes an input's records before an offset (repartition inputs: consumed records are not kept). */
  purgeInput?: (topic: string, before: string) => Promise<void>;
  logger: Logger;
  metrics: ProcessorMetrics;
  /** Decides when a commit is due. @default systemClock */
  clock?: Clock;
}

export class Task {
  readonly partition: number;
  private readonly machine: StateMachine<TaskState>;
  private readonly options: TaskOptions;
  private readonly stores: CachedStore[];
  /** The `partition` label of this task's metrics. */
  private readonly metricLabel: string;
  private readonly runner: SubtopologyRunner;
  private streamTime = -1;
  private committedStreamTime = -1;
  private readonly positions: InputPositions;
  private readonly lagByInput = new Map<string, number>();
  private outputs: OutgoingRecord[] = [];
  private readonly clock: Clock;
  private lastCommitAt: number;
  private queue: Promise<unknown> = Promise.resolve();
  private lastPurgeAt = Number.NEGATIVE_INFINITY;
  private readonly purgedBefore = new Map<string, string>();

  constructor(options: TaskOptions) {
    this.options = options;
    this.partition = options.partition;
    this.machine = createStateMachine(`task ${options.partition}`, transitions, 'starting');
    this.clock = options.clock ?? systemClock;
    this.lastCommitAt = this.clock.now();
    this.metricLabel = taskMetricLabel(options.plan.id, options.partition);
    this.positions = new InputPositions([...new Set(options.plan.inputs.map((input) => input.topic))]);
    this.stores = options.stores.map((each) => ({
      ...each,
      cache: new WriteCache<StoredAggregate>(each.store, jsonCodec(), options.cacheMaxEntries),
    }));
    this.runner = createSubtopologyRunner({
      topology: options.compiled.topology,
      subtopology: options.plan.id,
      stores: new Map(this.stores.map((each) => [each.plan.name, each])),
      encoders: options.encoders,
      tables: options.tables,
      partitionedTables: options.partitionedTables,
      context: {
        deadLetter: (origin, stage, error) => this.deadLetter(origin, stage, error),
        output: (record) => {
          this.outputs.push(record);
          this.options.metrics.recordsOut.inc();
        },
      },
    });
  }

  get status(): TaskState {
    return this.state;
  }

  /** The topics this task reads partition `partition` of. */
  get inputTopics(): string[] {
    return this.positions.topics;
  }

  /** The next offset to process of an input topic. */
  inputPosition(topic: string): string {
    return this.positions.position(topic);
  }

  /**
   * The committed state (RocksDB) of one of the task's stores, by name, for state queries;
   * uncommitted changes are not visible.
   */
  storeNamed(name: string): KeyValueStore | undefined {
    return this.state === 'running' ? this.stores.find((each) => each.plan.name === name)?.store : undefined;
  }

  /** The task's partition of a partitioned table, for state queries. */
  partitionedTable(name: string): PartitionedTable | undefined {
    return this.state === 'running' ? this.options.partitionedTables?.get(name) : undefined;
  }

  private get state(): TaskState {
    return this.machine.state;
  }

  private transition(next: TaskState): void {
    this.machine.to(next);
  }

  /** Runs `work` after everything queued before it: batches and commits never overlap. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Makes the task ready after its store was restored: stream time and the open-window index
   * from the store, and each input's position the group committed (where processing resumes).
   */
  async open(committed: ReadonlyMap<string, string>): Promise<void> {
    // every store keeps the task's stream time (each is restored from its own changelog)
    for (const { store } of this.stores) {
      const time = await store.get(streamTimeKey);
      if (time !== undefined) this.streamTime = Math.max(this.streamTime, Number(time.toString('utf8')));
    }
    this.committedStreamTime = this.streamTime;
    await this.runner.open();
    this.positions.open(committed);
    // the first batch commits at once: after a takeover or restart its output is the one waited for
    this.lastCommitAt = this.clock.now() - this.options.commitIntervalMs;
    this.transition('running');
    const first = this.stores[0];
    if (first) this.options.metrics.storePaths.set(this.metricLabel, first.store.path);
  }

  /** The offset the reader of `topic` must fetch from next (the task asks for it with a seek). */
  seekTarget(topic: string): string | undefined {
    return this.positions.seekTarget(topic);
  }

  /**
   * The records of input `topic` from the task's position up to `logStart` are gone (retention):
   * continue from the log start. Returns how many records were skipped (0 when the task is not
   * at `requested`, e.g. an answer to an older seek).
   */
  skipTo(topic: string, requested: string, logStart: string): bigint {
    return this.positions.skipTo(topic, requested, logStart);
  }

  /**
   * Drops batches of `topic` until one fetched from the task's position arrives, and returns that
   * position: the caller seeks there (used to hold input back while the task may not commit).
   */
  refetch(topic: string): string {
    return this.positions.refetch(topic);
  }

  processBatch(batch: ConsumedBatch): Promise<void> {
    return this.serially(async () => {
      if (this.state !== 'running') return;
      const { topic } = batch;
      if (!this.positions.accepts(topic, batch.fetchedOffset)) return;
      const started = performance.now();
      const position = BigInt(this.positions.position(topic));
      const records = batch.records.filter((record) => BigInt(record.offset) >= position);
      const stream = this.streamOf(topic);
      // fetching writer schemas changes nothing: if the registry cannot answer, the task is still
      // intact and the manager pauses the partition instead of dead-lettering good records
      if (records.length > 0 && stream)
        await this.options.serde.prepare(records.map((record) => record.value));
      try {
        if (records.length > 0) await this.process(topic, stream, records);
      } catch (error) {
        this.fail(error);
        throw error;
      }
      this.positions.advance(topic, batch.nextOffset);
      this.options.metrics.recordsIn.inc({ partition: this.metricLabel }, records.length);
      this.options.metrics.processSeconds.observe((performance.now() - started) / 1000);
      // the task's lag is its inputs' together (each known from its last batch)
      this.lagByInput.set(
        topic,
        Number(BigInt(batch.highWatermark) - BigInt(this.positions.position(topic))),
      );
      let lag = 0;
      for (const each of this.lagByInput.values()) lag += each;
      this.options.metrics.lag.set({ partition: this.metricLabel }, lag);
      if (this.clock.now() - this.lastCommitAt >= this.options.commitIntervalMs) await this.commitNow();
    });
  }

  /** Commits if the interval has passed and there is something to commit. */
  commitIfDue(): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'running' && this.clock.now() - this.lastCommitAt >= this.options.commitIntervalMs) {
        await this.commitNow();
      }
    });
  }

  /** Commits what is pending (used on clean shutdown). */
  commit(): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'running') await this.commitNow();
    });
  }

  /** The stream an input topic carries; undefined for a repartition topic. */
  private streamOf(topic: string): Stream | undefined {
    return this.options.plan.inputs.find((input) => input.topic === topic)?.source;
  }

  /** Decodes a batch of one input, advances stream time, and runs the sub-topology over it. */
  private async process(topic: string, stream: Stream | undefined, records: IncomingRecord[]): Promise<void> {
    const items: Item[] = [];
    for (const record of records) {
      let event: unknown;
      let timestamp: number;
      try {
        if (stream) {
          event = this.options.serde.decode(record.value);
          timestamp = eventTimeOf(stream, event);
        } else {
          // a repartition record: the event in the internal codec, its event time as the timestamp
          event = decodeRepartitionValue(record.value);
          timestamp = record.timestamp;
        }
      } catch (error) {
        this.deadLetter(record, 'decode', error);
        continue;
      }
      if (timestamp > this.streamTime) this.streamTime = timestamp;
      items.push({
        value: event,
        timestamp,
        streamTime: this.streamTime,
        partitionKey: stream && record.key !== null ? record.key.toString('utf8') : undefined,
        origin: record,
        derived: false,
      });
    }
    if (items.length > 0) await this.runner.run(topic, items, this.streamTime);
  }

  private deadLetter(record: ItemOrigin, stage: DeadLetterStage, error: unknown): void {
    const described =
      error instanceof Error
        ? error
        : typeof error === 'object' && error !== null
          ? (error as Error)
          : new Error(String(error));
    this.outputs.push(deadLetter(this.options.deadLetterTopic, record, stage, described));
    this.options.metrics.deadLetters.inc({ stage });
  }

  private pendingChanges(): { store: CachedStore; topic: string; changes: Change[] }[] {
    return this.stores.map((store) => {
      const changes = store.cache.changes();
      if (this.streamTime !== this.committedStreamTime) {
        changes.push({ key: streamTimeKey, value: Buffer.from(String(this.streamTime)) });
      }
      return { store, topic: store.plan.changelogTopic, changes };
    });
  }

  private async commitNow(): Promise<void> {
    this.lastCommitAt = this.clock.now();
    if (!this.options.canCommit()) return;
    const changelogs = this.pendingChanges();
    const changed = changelogs.some(({ changes }) => changes.length > 0);
    if (this.outputs.length === 0 && !changed && !this.positions.moved()) return;
    const started = performance.now();
    const outputs = this.outputs;
    const inputs = this.positions.snapshot();
    const streamTime = this.streamTime;
    try {
      await commitWork(this.options.channel, {
        partition: this.partition,
        inputs,
        outputs,
        changelogs,
        epoch: this.options.epoch(),
        mayCommit: this.options.canCommit,
        flushStores: async (positions) => {
          for (const { store, topic, changes } of changelogs) {
            const position = positions.get(topic);
            if (position !== undefined) await store.cache.flush(changes, position);
          }
        },
      });
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.outputs = [];
    this.positions.committed(inputs);
    this.committedStreamTime = streamTime;
    this.options.metrics.commitSeconds.observe((performance.now() - started) / 1000);
    if (this.stores.length > 0) {
      const entries = this.stores.reduce((sum, { cache }) => sum + cache.size, 0);
      this.options.metrics.cacheEntries.set({ partition: this.metricLabel }, entries);
    }
    this.options.onCommit?.();
    this.purgeIfDue(inputs);
  }

  /** Consumed repartition records go, at most every purgeIntervalMs; a failure is retried next time. */
  private purgeIfDue(inputs: readonly { topic: string; offset: string }[]): void {
    const purge = this.options.purgeInput;
    if (!purge || this.clock.now() - this.lastPurgeAt < purgeIntervalMs) return;
    this.lastPurgeAt = this.clock.now();
    for (const { topic, offset } of inputs) {
      if (this.streamOf(topic) || this.purgedBefore.get(topic) === offset) continue;
      purge(topic, offset).then(
        () => {
          this.purgedBefore.set(topic, offset);
        },
        (error) =>
          this.options.logger.warn(
            { err: error, topic, before: offset },
            'purging consumed repartition records failed',
          ),
      );
    }
  }

  private fail(error: unknown): void {
    if (this.state === 'running' || this.state === 'starting') {
      this.options.logger.warn(
        { partition: this.partition, err: error },
        'task failed; it will be restarted',
      );
      this.transition('failed');
    }
    // nothing uncommitted may survive: the replacement task starts from RocksDB + changelog
    for (const { cache } of this.stores) cache.discardChanges();
    this.outputs = [];
  }

  /** Stops the task; with `commit`, commits what is pending first. Closes the store. */
  close(options: { commit: boolean }): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'closed') return;
      if (options.commit && this.state === 'running') {
        await this.commitNow().catch((error) =>
          this.options.logger.warn({ partition: this.partition, err: error }, 'final commit failed'),
        );
      }
      for (const { cache } of this.stores) cache.discardChanges();
      this.transition('closed');
      this.options.metrics.storePaths.delete(this.metricLabel);
      this.options.metrics.cacheEntries.remove({ partition: this.metricLabel });
      for (const { store } of this.stores) await store.close();
      for (const table of this.options.partitionedTables?.values() ?? []) await table.stop();
    });
  }
}
