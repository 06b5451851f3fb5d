/**
 * sluice/testing: runs an app in-process, without Kafka or a registry, in milliseconds. It is the
 * processor's own machinery, not a model of it: per input partition (the records' keys pick it
 * as Kafka's default partitioner does) the real Task runs the compiled app, with the same
 * operators, window and grace rules, state codecs, dead letters and commit protocol, over an
 * in-memory store, committing through an in-memory transactional producer (memory-topics.ts),
 * with the real serde decoding and encoding the streams' Avro schemas. What a test reads is what
 * committed: sink records, dead letters, and each store's contents as state queries show them.
 *
 * Stream time advances with the event times of the records piped in, per partition, as in the
 * processor; the wall clock (what decides when a task commits) is the driver's, moved by
 * `advanceWallClock`. By default every `pipe` commits at once.
 */
import type avro from 'avsc';
import { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.ts';
import { loadConfig } from '../../common/config/load.ts';
import { type IncomingRecord, partitionForKey } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { exactAvroType } from '../../schemas/exact-long.ts';
import { createSerde } from '../../schemas/serde.ts';
import { loadStreams } from '../../schemas/streams.ts';
import { compileApp } from '../app/compile.ts';
import type { App } from '../app/define.ts';
import { createProcessorMetrics } from '../metrics.ts';
import { lookupGroup, type StateAnswer } from '../query/state-lookup.ts';
import { dataKeyRange, decodeKey } from '../state/key-codec.ts';
import { createMemoryStore } from '../state/memory-store.ts';
import { deadLetterHeaders } from '../task/dead-letters.ts';
import { Task } from '../task/task.ts';
import { consumerGroup, deadLetterTopic, transactionalId } from '../topics.ts';
import { createMemoryTopics, type StoredRecord } from './memory-topics.ts';

export interface TestDriverOptions {
  /** The config whose `streams` the app reads and writes. @default $SLUICE_CONFIG or ./sluice.yaml */
  config?: string;
  /** Commit every this many ms of the driver's wall clock; 0 commits after every `pipe`. @default 0 */
  commitIntervalMs?: number;
}

/** An input record: an event of the source stream (or raw bytes, to test bad input). */
export interface TestRecord {
  value: object | Buffer | null;
  /** @default the event's partition-key field */
  key?: string;
  headers?: Record<string, string | Buffer>;
}

export interface DeadLetter {
  stage: string;
  errorClass: string;
  errorMessage: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The original bytes of the record (or, for a failed emission, the emission as JSON). */
  value: Buffer | null;
}

export interface StoreEntry {
  /** The group: the grouped fields and their values. */
  key: Record<string, unknown>;
  state: StateAnswer;
}

export interface TestDriver {
  /** Sends events (or records) to the app's source, as produced to its topic, and processes them. */
  pipe(events: readonly (object | TestRecord)[]): Promise<void>;
  /** Moves the driver's wall clock; tasks whose commit interval passed commit. */
  advanceWallClock(ms: number): Promise<void>;
  /** Commits every task now (what a processor does before it stops). */
  commit(): Promise<void>;
  /** The committed records of a sink stream, decoded. @default the app's sink */
  output<T = Record<string, unknown>>(stream?: string): T[];
  deadLetters(): DeadLetter[];
  /** The committed contents of the app's store, one entry per group, as state queries answer. */
  store(): Promise<StoreEntry[]>;
  close(): Promise<void>;
}

const isRecord = (item: object | TestRecord): item is TestRecord =>
  'value' in item && (item.value === null || Buffer.isBuffer(item.value) || typeof item.value === 'object');

/** The wall clock of the driver: moved by the test, never by time passing. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const never = { cancel: () => undefined };
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    every: () => never,
    after: () => never,
  };
}

export async function createTestDriver(app: App, options: TestDriverOptions = {}): Promise<TestDriver> {
  const loaded = loadConfig({ file: options.config });
  const compiled = compileApp(app, loadStreams(loaded.config.streams, loaded.baseDir));
  const { source, sinks, grouping } = compiled;
  const [plan, ...repartitioned] = compiled.subtopologies;
  if (repartitioned.length > 0) {
    throw new Error(
      `the test driver runs apps of one sub-topology; ${app.id} repartitions (sluice describe shows it): test it against Kafka`,
    );
  }
  const sink = sinks[0]!;
  // the real serde, with the schemas it needs known under ids of its own (no registry),
  // read as the processor reads them: a long beyond ±(2^53−1) makes a dead letter
  const reader = (stream: typeof source) =>
    exactAvroType(stream.schema as avro.Schema, { beyondSafe: 'refuse' });
  const serde = createSerde('http://registry.invalid', {
    known: new Map([[1, reader(source)], ...sinks.map((each, index) => [index + 2, reader(each)] as const)]),
  });
  const encodeSource = serde.encoderFor(1, source.type);
  const encoders = new Map(sinks.map((each, index) => [each.name, serde.encoderFor(index + 2, each.type)]));
  const topics = createMemoryTopics();
  const clock = manualClock();
  const metrics = createProcessorMetrics(new Registry());
  const tasks = new Map<number, Task>();
  const nextOffset = new Map<number, number>();
  const commitIntervalMs = options.commitIntervalMs ?? 0;

  const taskFor = async (partition: number): Promise<Task> => {
    const existing = tasks.get(partition);
    if (existing) return existing;
    const task = new Task({
      compiled,
      plan: plan!,
      partition,
      stores: plan!.stores.map((store) => ({
        plan: store,
        store: createMemoryStore(`${app.id}/${store.name}/${partition}`),
      })),
      deadLetterTopic: deadLetterTopic(app.id),
      serde,
      encoders,
      channel: {
        guarantee: 'exactly_once',
        producer: topics.producer(transactionalId(app.id, source.topic, partition)),
        groupId: consumerGroup(app.id),
      },
      commitIntervalMs,
      cacheMaxEntries: loaded.config.processor.cacheMaxEntries,
      epoch: () => 0,
      canCommit: () => true,
      clock,
      logger: silentLogger(),
      metrics,
    });
    await task.open('0');
    tasks.set(partition, task);
    return task;
  };

  const toIncoming = (item: object | TestRecord): Omit<IncomingRecord, 'partition' | 'offset'> => {
    const record: TestRecord = isRecord(item) ? item : { value: item };
    const event = record.value;
    const key =
      record.key ??
      (event && !Buffer.isBuffer(event)
        ? String((event as Record<string, unknown>)[source.partitionKey])
        : null);
    const headers = Object.fromEntries(
      Object.entries(record.headers ?? {}).map(([name, value]) => [name, Buffer.from(value)]),
    );
    return {
      topic: source.topic,
      key: key === null ? null : Buffer.from(key),
      value: event === null || Buffer.isBuffer(event) ? event : encodeSource(event),
      headers,
      timestamp: 0,
    };
  };

  const decodeAll = (records: StoredRecord[]) =>
    records.map((record) => serde.decode(record.value as Buffer));

  return {
    async pipe(events) {
      const byPartition = new Map<number, IncomingRecord[]>();
      for (const item of events) {
        const incoming = toIncoming(item);
        const partition = incoming.key === null ? 0 : partitionForKey(incoming.key, source.partitions);
        const offset = nextOffset.get(partition) ?? 0;
        nextOffset.set(partition, offset + 1);
        const batch = byPartition.get(partition) ?? [];
        byPartition.set(partition, batch);
        batch.push({ ...incoming, partition, offset: String(offset) });
      }
      for (const [partition, records] of byPartition) {
        const task = await taskFor(partition);
        const end = String(Number(records.at(-1)!.offset) + 1);
        await task.processBatch({
          partition,
          fetchedOffset: records[0]!.offset,
          nextOffset: end,
          records,
          highWatermark: end,
          heartbeat: async () => undefined,
        });
        if (commitIntervalMs === 0) await task.commit();
      }
    },
    async advanceWallClock(ms) {
      clock.advance(ms);
      for (const task of tasks.values()) await task.commitIfDue();
    },
    async commit() {
      for (const task of tasks.values()) await task.commit();
    },
    output<T>(stream = sink.name) {
      const written = sinks.find((each) => each.name === stream);
      if (!written)
        throw new Error(
          `${app.id} writes to ${sinks.map((each) => each.name).join(', ')}, not to ${stream} (the streams of ${options.config ?? 'the config'})`,
        );
      return decodeAll(topics.read(written.topic)) as T[];
    },
    deadLetters: () =>
      topics.read(deadLetterTopic(app.id)).map((record) => {
        const header = (name: string) => String(record.headers?.[name] ?? '');
        return {
          stage: header(deadLetterHeaders.stage),
          errorClass: header(deadLetterHeaders.errorClass),
          errorMessage: header(deadLetterHeaders.errorMessage),
          partition: Number(header(deadLetterHeaders.partition)),
          offset: header(deadLetterHeaders.offset),
          key: record.key === null ? null : record.key.toString(),
          value: record.value === null ? null : Buffer.from(record.value),
        };
      }),
    async store() {
      if (!grouping) return [];
      const entries: StoreEntry[] = [];
      for (const task of tasks.values()) {
        const store = task.store;
        if (!store) continue;
        const groups = new Map<string, unknown[]>();
        for await (const [key] of store.range(dataKeyRange)) {
          const group = decodeKey(key).group as unknown[];
          groups.set(JSON.stringify(group), group);
        }
        for (const group of groups.values()) {
          const state = await lookupGroup(store, grouping, group);
          if (state)
            entries.push({
              key: Object.fromEntries(grouping.fields.map((field, index) => [field, group[index]])),
              state,
            });
        }
      }
      return entries;
    },
    async close() {
      for (const task of tasks.values()) await task.close({ commit: false });
    },
  };
}
