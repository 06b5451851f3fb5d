/**
 * A task owns one input partition: it runs the app's pipeline over the partition's batches,
 * keeps the partition's aggregates in a write cache over its RocksDB store, and commits every
 * commit interval (commit.ts). It owns the partition's stream time and input position.
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
import type { Serde } from '../../schemas/serde.ts';
import { type CompiledApp, UserCodeError } from '../app/compile.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import type { Emission, GroupedEvent, StoredAggregate } from '../operators/aggregate-operator.ts';
import { createAggregateOperator } from '../operators/aggregate-operator.ts';
import { encodeGroup, metaKey } from '../state/key-codec.ts';
import type { KeyValueStore } from '../state/store.ts';
import { type Change, jsonCodec, WriteCache } from '../state/write-cache.ts';
import { type CommitChannel, commitWork } from './commit.ts';
import { type DeadLetterStage, deadLetter } from './dead-letters.ts';

export type TaskState = 'starting' | 'running' | 'closed' | 'failed';

const transitions: Record<TaskState, readonly TaskState[]> = {
  starting: ['running', 'closed', 'failed'],
  running: ['closed', 'failed'],
  closed: [],
  failed: ['closed'],
};

export const streamTimeKey = metaKey('stream-time');

export interface TaskOptions {
  compiled: CompiledApp;
  partition: number;
  store?: KeyValueStore;
  /** Where the store's changes go; absent for stateless apps. */
  changelogTopic?: string;
  deadLetterTopic: string;
  serde: Serde;
  encodeSink: (value: unknown) => Buffer;
  channel: CommitChannel;
  commitIntervalMs: number;
  cacheMaxEntries: number;
  /** The lease epoch written into changelog headers (0 without leases). */
  epoch: () => number;
  /** False while this instance may not commit (its lease is lost or unconfirmed): work waits. */
  canCommit: () => boolean;
  /** Told after every successful commit. */
  onCommit?: () => void;
  logger: Logger;
  metrics: ProcessorMetrics;
  /** Decides when a commit is due. @default systemClock */
  clock?: Clock;
}

export class Task {
  readonly partition: number;
  private state: TaskState = 'starting';
  private readonly options: TaskOptions;
  private readonly cache?: WriteCache<StoredAggregate>;
  private readonly operator?: ReturnType<typeof createAggregateOperator>;
  private streamTime = -1;
  private committedStreamTime = -1;
  /** Next input offset to process. */
  private position = '0';
  /** The position last committed to the consumer group. */
  private committedPosition = '0';
  /** Set by a seek: batches fetched from elsewhere are dropped until one starts here. */
  private awaitingFetchFrom: string | undefined;
  private outputs: OutgoingRecord[] = [];
  private readonly clock: Clock;
  private lastCommitAt: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: TaskOptions) {
    this.options = options;
    this.partition = options.partition;
    this.clock = options.clock ?? systemClock;
    this.lastCommitAt = this.clock.now();
    const grouping = options.compiled.grouping;
    if (grouping && options.store) {
      this.cache = new WriteCache<StoredAggregate>(options.store, jsonCodec(), options.cacheMaxEntries);
      this.operator = createAggregateOperator(grouping, this.cache);
    }
  }

  get status(): TaskState {
    return this.state;
  }

  get inputPosition(): string {
    return this.position;
  }

  /** The committed state (RocksDB), for state queries; uncommitted changes are not visible. */
  get store(): KeyValueStore | undefined {
    return this.state === 'running' ? this.options.store : undefined;
  }

  private transition(next: TaskState): void {
    if (!transitions[this.state].includes(next)) {
      throw new Error(`task ${this.partition}: illegal transition ${this.state} → ${next}`);
    }
    this.state = next;
  }

  /** Runs `work` after everything queued before it: batches and commits never overlap. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Makes the task ready after its store was restored: stream time and the open-window index
   * from the store, and the input position the group committed (where processing resumes).
   */
  async open(committedPosition: string): Promise<void> {
    if (this.options.store && this.operator) {
      const time = await this.options.store.get(streamTimeKey);
      this.streamTime = time === undefined ? -1 : Number(time.toString('utf8'));
      this.committedStreamTime = this.streamTime;
      await this.operator.rebuildIndex(this.options.store);
    }
    this.position = committedPosition;
    this.committedPosition = committedPosition;
    this.awaitingFetchFrom = committedPosition;
    // the first batch commits at once: after a takeover or restart its output is the one waited for
    this.lastCommitAt = this.clock.now() - this.options.commitIntervalMs;
    this.transition('running');
    if (this.options.store) this.options.metrics.storePaths.set(this.partition, this.options.store.path);
  }

  /** The offset the consumer must fetch from next (the task asks for it with a seek). */
  get seekTarget(): string | undefined {
    return this.awaitingFetchFrom;
  }

  /**
   * The input records from the task's position up to `logStart` are gone (retention): continue
   * from the log start. Returns how many records were skipped (0 when the task is not at
   * `requested`, e.g. an answer to an older seek).
   */
  skipTo(requested: string, logStart: string): bigint {
    if ((this.awaitingFetchFrom ?? this.position) !== requested || BigInt(logStart) <= BigInt(this.position))
      return 0n;
    const skipped = BigInt(logStart) - BigInt(this.position);
    this.position = logStart;
    this.awaitingFetchFrom = logStart;
    return skipped;
  }

  /**
   * Drops batches until one fetched from the task's position arrives, and returns that position:
   * the caller seeks there (used to hold input back while the task may not commit).
   */
  refetch(): string {
    this.awaitingFetchFrom = this.position;
    return this.position;
  }

  processBatch(batch: ConsumedBatch): Promise<void> {
    return this.serially(async () => {
      if (this.state !== 'running') return;
      if (this.awaitingFetchFrom !== undefined) {
        if (batch.fetchedOffset !== this.awaitingFetchFrom) return;
        this.awaitingFetchFrom = undefined;
      }
      const started = performance.now();
      const records = batch.records.filter((record) => BigInt(record.offset) >= BigInt(this.position));
      // fetching writer schemas changes nothing: if the registry cannot answer, the task is still
      // intact and the manager pauses the partition instead of dead-lettering good records
      if (records.length > 0) await this.options.serde.prepare(records.map((record) => record.value));
      try {
        if (records.length > 0) await this.process(records);
      } catch (error) {
        this.fail(error);
        throw error;
      }
      if (BigInt(batch.nextOffset) > BigInt(this.position)) this.position = batch.nextOffset;
      this.options.metrics.recordsIn.inc({ partition: this.partition }, records.length);
      this.options.metrics.processSeconds.observe((performance.now() - started) / 1000);
      this.options.metrics.lag.set(
        { partition: this.partition },
        Number(BigInt(batch.highWatermark) - BigInt(this.position)),
      );
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

  private async process(records: IncomingRecord[]): Promise<void> {
    const { compiled, serde } = this.options;
    const grouped: (GroupedEvent & { record: IncomingRecord; streamTime: number })[] = [];

    for (const record of records) {
      let event: unknown;
      let timestamp: number;
      try {
        event = serde.decode(record.value);
        timestamp = compiled.eventTime(event);
      } catch (error) {
        this.deadLetter(record, 'decode', error);
        continue;
      }
      try {
        const result = compiled.before(event);
        if (result === undefined) continue;
        if (!compiled.grouping) {
          this.emit(result, record);
          continue;
        }
        const group = compiled.groupOf(result);
        this.checkPartitionKey(result, record);
        if (timestamp > this.streamTime) this.streamTime = timestamp;
        grouped.push({
          group,
          groupBytes: encodeGroup(group),
          timestamp,
          event: result,
          record,
          streamTime: this.streamTime,
        });
      } catch (error) {
        this.deadLetter(record, 'process', error);
      }
    }

    const operator = this.operator;
    const cache = this.cache;
    if (!operator || !cache || grouped.length === 0) return;
    await cache.load(grouped.flatMap((item) => operator.keysFor(item, item.streamTime)));
    for (const item of grouped) {
      try {
        if (!operator.add(item, item.streamTime)) {
          this.deadLetter(item.record, 'late', {
            name: 'LateRecord',
            message: `event time ${item.timestamp} is behind stream time ${item.streamTime} by more than the window allows`,
          });
        }
      } catch (error) {
        this.deadLetter(item.record, 'process', error);
      }
    }
    await cache.load(operator.dueKeys(this.streamTime));
    const last = grouped[grouped.length - 1]!.record;
    const emissions = [...operator.closeDue(this.streamTime), ...operator.takeUpdates()];
    for (const emission of emissions) this.emitAggregate(emission, last);
  }

  /** The group key must carry the record's Kafka key as its partition key: state stays local. */
  private checkPartitionKey(event: unknown, record: IncomingRecord): void {
    const field = this.options.compiled.source.partitionKey;
    const value = (event as Record<string, unknown>)[field];
    if (record.key !== null && value !== record.key.toString('utf8')) {
      throw new UserCodeError(
        `${field} "${String(value)}" differs from the record key "${record.key.toString('utf8')}"`,
      );
    }
  }

  private emitAggregate(emission: Emission, cause: IncomingRecord): void {
    const fields = this.options.compiled.grouping!.fields;
    const key = Object.fromEntries(fields.map((field, index) => [field, emission.group[index]]));
    const emitted = emission.window
      ? { key, window: emission.window, value: emission.result }
      : { key, value: emission.result };
    try {
      const result = this.options.compiled.after(emitted);
      if (result !== undefined) this.emit(result, cause);
    } catch (error) {
      // no input record holds this: keep the emission itself, as JSON, with the closing record's place
      this.deadLetter(
        {
          ...cause,
          key: encodeGroup(emission.group),
          value: Buffer.from(JSON.stringify(emitted)),
          headers: {},
        },
        'emit',
        error,
      );
    }
  }

  private emit(value: unknown, cause: IncomingRecord): void {
    try {
      this.outputs.push(this.options.compiled.toSinkRecord(value, this.options.encodeSink));
      this.options.metrics.recordsOut.inc();
    } catch (error) {
      this.deadLetter(cause, 'emit', error);
    }
  }

  private deadLetter(
    record: Pick<IncomingRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'>,
    stage: DeadLetterStage,
    error: unknown,
  ): void {
    const described =
      error instanceof Error
        ? error
        : typeof error === 'object' && error !== null
          ? (error as Error)
          : new Error(String(error));
    this.outputs.push(deadLetter(this.options.deadLetterTopic, record, stage, described));
    this.options.metrics.deadLetters.inc({ stage });
  }

  private pendingChanges(): Change[] {
    const changes = this.cache?.changes() ?? [];
    if (this.streamTime !== this.committedStreamTime) {
      changes.push({ key: streamTimeKey, value: Buffer.from(String(this.streamTime)) });
    }
    return changes;
  }

  private async commitNow(): Promise<void> {
    this.lastCommitAt = this.clock.now();
    if (!this.options.canCommit()) return;
    const changes = this.pendingChanges();
    if (this.outputs.length === 0 && changes.length === 0 && this.position === this.committedPosition) return;
    const started = performance.now();
    const outputs = this.outputs;
    const position = this.position;
    const streamTime = this.streamTime;
    try {
      await commitWork(this.options.channel, {
        inputTopic: this.options.compiled.source.topic,
        partition: this.partition,
        inputPosition: position,
        outputs,
        changes,
        changelogTopic: this.options.changelogTopic,
        epoch: this.options.epoch(),
        mayCommit: this.options.canCommit,
        flushStore: async (changelogPosition) => {
          if (this.cache && changelogPosition !== undefined)
            await this.cache.flush(changes, changelogPosition);
        },
      });
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.outputs = [];
    this.committedPosition = position;
    this.committedStreamTime = streamTime;
    this.options.metrics.commitSeconds.observe((performance.now() - started) / 1000);
    if (this.cache) this.options.metrics.cacheEntries.set({ partition: this.partition }, this.cache.size);
    this.options.onCommit?.();
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
    this.cache?.discardChanges();
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
      this.cache?.discardChanges();
      this.transition('closed');
      this.options.metrics.storePaths.delete(this.partition);
      this.options.metrics.cacheEntries.remove({ partition: this.partition });
      await this.options.store?.close();
    });
  }
}
