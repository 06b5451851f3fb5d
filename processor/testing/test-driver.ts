/**
 * sluice/testing: runs an app in-process, without Kafka or a registry, in milliseconds. It is the
 * processor's own machinery, not a model of it: per sub-topology and input partition (the
 * records' keys pick it as Kafka's default partitioner does) the real Task runs the compiled
 * app, with the same operators, window and grace rules, state codecs, dead letters and commit
 * protocol, over in-memory stores, committing through an in-memory transactional producer
 * (memory-topics.ts), with the real serde decoding and encoding the streams' Avro schemas. What an
 * upstream task commits to a repartition topic is handed to the downstream task reading that
 * partition, as the processor's reader would. What a test reads is what committed: sink records,
 * dead letters, and each store's contents as state queries show them.
 *
 * Stream time advances with the event times of the records piped in, per task, as in the
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
import { compileApp, type SubtopologyPlan } from '../app/compile.ts';
import type { App } from '../app/define.ts';
import { appPartitions } from '../app-partitions.ts';
import { createProcessorMetrics } from '../metrics.ts';
import { lookupGroup, type StateAnswer } from '../query/state-lookup.ts';
import { dataKeyRange, decodeKey } from '../state/key-codec.ts';
import { createMemoryStore } from '../state/memory-store.ts';
import { deadLetterHeaders } from '../task/dead-letters.ts';
import { Task } from '../task/task.ts';
import { consumerGroup, deadLetterTopic, transactionalId } from '../topics.ts';
import { createMemoryTopics } from './memory-topics.ts';

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
  /** The committed records of a sink stream, decoded. @default the app's only sink */
  output<T = Record<string, unknown>>(stream?: string): T[];
  deadLetters(): DeadLetter[];
  /**
   * Sets rows of a global table the app joins with, by row key (null deletes the row); joins see
   * them from the next `pipe` on, as a processor sees the latest rows it has read.
   */
  setTableRows(table: string, rows: Record<string, object | null>): void;
  /** The committed contents of a store, one entry per group, as state queries answer. @default the app's first store */
  store(name?: string): Promise<StoreEntry[]>;
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
  const compiled = compileApp(app, loadStreams(loaded.config.streams, loaded.baseDir), {
    repartitionPartitions: loaded.config.processor.repartitionPartitions,
  });
  const { source, sinks } = compiled;
  // the real serde, with the app's schemas known under ids of its own (no registry), read as the
  // processor reads them: a long beyond ±(2^53−1) makes a dead letter
  const appStreams = [source, ...sinks.filter((sink) => sink.name !== source.name)];
  const serde = createSerde('http://registry.invalid', {
    known: new Map(
      appStreams.map((stream, index) => [
        index + 1,
        exactAvroType(stream.schema as avro.Schema, { beyondSafe: 'refuse' }),
      ]),
    ),
  });
  const encoders = new Map(
    appStreams.map((stream, index) => [stream.name, serde.encoderFor(index + 1, stream.type)]),
  );
  const encodeSource = encoders.get(source.name)!;
  // repartition topics have the app's count (the input's by default), as the processor creates them
  const repartitionCounts = appPartitions(compiled, source.partitions).topics;
  const partitionCounts = new Map([
    ...appStreams.map((stream) => [stream.topic, stream.partitions] as const),
    ...repartitionCounts,
  ]);
  const topics = createMemoryTopics((topic) => partitionCounts.get(topic) ?? source.partitions);
  const clock = manualClock();
  const metrics = createProcessorMetrics(new Registry());
  /** Tasks by id `<sub-topology>_<partition>`, in sub-topology order. */
  const tasks = new Map<string, Task>();
  /** The next offset to hand each task from its input partition. */
  const fed = new Map<string, number>();
  const commitIntervalMs = options.commitIntervalMs ?? 0;
  const sourcePlan = compiled.subtopologies.find((plan) => plan.input.source?.name === source.name)!;
  const severalStreams = compiled.subtopologies.find(
    (plan) => plan.inputs.filter((input) => input.kind === 'stream').length > 1,
  );
  if (severalStreams) {
    // pipe() feeds the app's source only; a second input stream would need its own pipe and an
    // interleaving of the two that a test can state
    throw new Error(
      `the test driver feeds one input stream; ${app.id} reads ${severalStreams.inputs.map((input) => input.topic).join(', ')} in one task: test it against Kafka`,
    );
  }
  const downstream = compiled.subtopologies.filter((plan) => plan.input.kind === 'repartition');
  const partitionedTable = compiled.topology.tables.find((table) => table.kind === 'partitioned');
  if (partitionedTable) {
    throw new Error(
      `the test driver holds global tables only; ${app.id} joins the partitioned table ${partitionedTable.name}: test it against Kafka`,
    );
  }
  /** The rows of each global table, as a processor instance holds them. */
  const tableRows = new Map(
    compiled.topology.tables.map((table) => [table.name, new Map<string, unknown>()]),
  );
  const rowsOf = (name: string) => {
    const rows = tableRows.get(name);
    if (!rows)
      throw new Error(
        `${app.id} joins no table ${name} (its tables: ${[...tableRows.keys()].join(', ') || 'none'})`,
      );
    return rows;
  };

  const taskFor = async (plan: SubtopologyPlan, partition: number): Promise<Task> => {
    const id = `${plan.id}_${partition}`;
    const existing = tasks.get(id);
    if (existing) return existing;
    const task = new Task({
      compiled,
      plan,
      partition,
      stores: plan.stores.map((store) => ({
        plan: store,
        store: createMemoryStore(`${app.id}/${store.name}/${id}`),
      })),
      deadLetterTopic: deadLetterTopic(app.id),
      serde,
      encoders,
      tables: { table: rowsOf },
      channel: {
        guarantee: 'exactly_once',
        producer: topics.producer(transactionalId(app.id, plan.input.topic, partition)),
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
    await task.open(new Map(plan.inputs.map((input) => [input.topic, '0'])));
    tasks.set(id, task);
    return task;
  };

  /** Hands a task the records of its input partition (offsets consecutive from what it was fed). */
  const feed = async (plan: SubtopologyPlan, partition: number, records: IncomingRecord[]) => {
    const task = await taskFor(plan, partition);
    const end = String(Number(records.at(-1)!.offset) + 1);
    await task.processBatch({
      topic: plan.input.topic,
      partition,
      fetchedOffset: records[0]!.offset,
      nextOffset: end,
      records,
      highWatermark: end,
      heartbeat: async () => undefined,
    });
    fed.set(`${plan.id}_${partition}`, Number(end));
    if (commitIntervalMs === 0) await task.commit();
  };

  /** Feeds what upstream tasks committed to repartition topics to the tasks reading them. */
  const forwardRepartitioned = async (): Promise<boolean> => {
    let any = false;
    for (const plan of downstream) {
      const count = repartitionCounts.get(plan.input.topic) ?? source.partitions;
      for (let partition = 0; partition < count; partition++) {
        const from = fed.get(`${plan.id}_${partition}`) ?? 0;
        const records = topics.readPartition(plan.input.topic, partition, from).map(
          (record): IncomingRecord => ({
            topic: record.topic,
            partition,
            offset: record.offset,
            key: record.key === null ? null : Buffer.from(record.key),
            value: record.value === null ? null : Buffer.from(record.value),
            headers: {},
            timestamp: record.timestamp ?? 0,
          }),
        );
        if (records.length === 0) continue;
        await feed(plan, partition, records);
        any = true;
      }
    }
    return any;
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

  const sinkNamed = (name: string | undefined) => {
    if (name === undefined && sinks.length === 1) return sinks[0]!;
    const sink = sinks.find((each) => each.name === name);
    if (!sink)
      throw new Error(
        `${app.id} writes to ${sinks.map((each) => each.name).join(', ')}${name === undefined ? ': name the one to read' : `, not to ${name}`}`,
      );
    return sink;
  };

  return {
    async pipe(events) {
      const byPartition = new Map<number, IncomingRecord[]>();
      for (const item of events) {
        const incoming = toIncoming(item);
        const partition = incoming.key === null ? 0 : partitionForKey(incoming.key, source.partitions);
        const offset =
          (fed.get(`${sourcePlan.id}_${partition}`) ?? 0) + (byPartition.get(partition)?.length ?? 0);
        const batch = byPartition.get(partition) ?? [];
        byPartition.set(partition, batch);
        batch.push({ ...incoming, partition, offset: String(offset) });
      }
      for (const [partition, records] of byPartition) await feed(sourcePlan, partition, records);
      while (await forwardRepartitioned());
    },
    async advanceWallClock(ms) {
      clock.advance(ms);
      for (const task of tasks.values()) await task.commitIfDue();
      while (await forwardRepartitioned());
    },
    async commit() {
      do for (const task of tasks.values()) await task.commit();
      while (await forwardRepartitioned());
    },
    output<T>(stream?: string) {
      return topics
        .read(sinkNamed(stream).topic)
        .map((record) => serde.decode(record.value as Buffer)) as T[];
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
    setTableRows(table, rows) {
      const held = rowsOf(table);
      for (const [key, row] of Object.entries(rows)) {
        if (row === null) held.delete(key);
        else held.set(key, Object.freeze({ ...row }));
      }
    },
    async store(name) {
      const plan = name === undefined ? compiled.store : compiled.stores.find((each) => each.name === name);
      if (!plan) {
        if (name === undefined) return [];
        throw new Error(
          `${app.id} has no store ${name} (its stores: ${compiled.stores.map((each) => each.name).join(', ')})`,
        );
      }
      const grouping = compiled.topology.groupings.get(plan.node)!;
      const entries: StoreEntry[] = [];
      for (const [id, task] of tasks) {
        const store = task.storeNamed(plan.name);
        if (!id.startsWith(`${plan.subtopology}_`) || !store) continue;
        const groups = new Map<string, unknown[]>();
        for await (const [key] of store.range(dataKeyRange)) {
          const group = decodeKey(key).group as unknown[];
          groups.set(JSON.stringify(group), group);
        }
        for (const group of groups.values()) {
          const state = await lookupGroup(store, grouping, group);
          if (state)
            entries.push({
              key: Object.fromEntries(
                grouping.fields.length > 0
                  ? grouping.fields.map((field, index) => [field, group[index]])
                  : group.map((value, index) => [String(index), value]),
              ),
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
