/**
 * Global tables: every processor instance holds each global table whole, in memory, shared by
 * all its tasks (Kafka Streams' GlobalKTable). A table is its compacted topic: the latest record
 * per key is the row, a null value (tombstone) deletes it; the Kafka record key is the row key.
 *
 * At start every partition is read from its log start up to the end it had then (`ready()`
 * resolves once all of them are reached: tasks wait for it before they process), and the same
 * reader then keeps following the topic (read_committed), so joins see the latest rows. Nothing is
 * kept on disk: a restart reads the topic again, which is what "small reference data" affords.
 *
 * A value that cannot be decoded keeps the previous row and is logged with its place and counted
 * (sluice_processor_table_undecodable_total); the reader moves on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumedBatch, KafkaAdmin, KafkaClient, PartitionReader } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { TablePlan } from '../app/topology.ts';
import type { ProcessorMetrics } from '../metrics.ts';

/** What a join reads: the current row of a key. */
export interface TableLookup {
  get(key: string): unknown | undefined;
}

export interface GlobalTables {
  /** The rows of a global table the app joins with. */
  table(name: string): TableLookup;
  /** Resolves once every table holds its topic up to the end it had at start. */
  ready(): Promise<void>;
  /** Stops following; final. */
  stop(): Promise<void>;
}

/** How long to wait before asking an unavailable registry again for a table's writer schemas. */
const registryRetryMs = 1000;

interface FollowedTable {
  rows: Map<string, unknown>;
  reader: PartitionReader;
  ready: Promise<void>;
}

export async function startGlobalTables(options: {
  tables: readonly TablePlan[];
  kafka: KafkaClient;
  admin: KafkaAdmin;
  serde: Serde;
  logger: Logger;
  metrics: ProcessorMetrics;
}): Promise<GlobalTables> {
  const followed = new Map<string, FollowedTable>();
  let stopped = false;
  try {
    for (const plan of options.tables.filter((each) => each.kind === 'global')) {
      followed.set(plan.name, await followTable(plan, options, () => stopped));
    }
  } catch (error) {
    await Promise.all([...followed.values()].map((table) => table.reader.stop()));
    throw error;
  }
  return {
    table(name) {
      const table = followed.get(name);
      if (!table) throw new Error(`no global table ${name}: the app's topology does not join with it`);
      return table.rows;
    },
    async ready() {
      await Promise.all([...followed.values()].map((table) => table.ready));
    },
    async stop() {
      stopped = true;
      await Promise.all([...followed.values()].map((table) => table.reader.stop()));
    },
  };
}

async function followTable(
  plan: TablePlan,
  options: { kafka: KafkaClient; admin: KafkaAdmin; serde: Serde; logger: Logger; metrics: ProcessorMetrics },
  isStopped: () => boolean,
): Promise<FollowedTable> {
  const { serde, metrics } = options;
  const log = options.logger.child({ table: plan.name, topic: plan.topic });
  const rows = new Map<string, unknown>();
  const offsets = await options.admin.topicOffsets(plan.topic);
  /** Partitions not yet read up to the end they had at start. */
  const behind = new Map(
    offsets
      .filter((entry) => BigInt(entry.high) > BigInt(entry.low))
      .map((entry) => [entry.partition, entry.high]),
  );
  let caughtUp!: () => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    caughtUp = resolve;
    failed = reject;
  });
  ready.catch(() => undefined); // awaited by tasks; not an unhandled rejection meanwhile
  const check = () => {
    if (behind.size === 0) {
      log.info({ rows: rows.size }, 'global table loaded');
      caughtUp();
    }
  };

  const prepare = async (batch: ConsumedBatch) => {
    const values = batch.records.map((record) => record.value);
    for (;;) {
      try {
        await serde.prepare(values);
        return;
      } catch (error) {
        if (isStopped()) throw error;
        log.warn({ err: error }, `cannot fetch the writer schemas of table ${plan.name}; retrying`);
        await sleep(registryRetryMs);
      }
    }
  };

  const apply = (batch: ConsumedBatch) => {
    for (const record of batch.records) {
      const place = { partition: record.partition, offset: record.offset };
      if (record.key === null) {
        log.warn(place, `a record of table ${plan.name} has no key: ignored (a table row needs one)`);
        metrics.tableUndecodable.inc({ table: plan.name });
        continue;
      }
      const key = record.key.toString('utf8');
      if (record.value === null) {
        rows.delete(key);
      } else {
        try {
          // shared by every task: a joiner must not change it
          rows.set(key, Object.freeze(serde.decode(record.value)));
        } catch (error) {
          log.error(
            { ...place, key, err: error },
            `a record of table ${plan.name} cannot be decoded: the row keeps its previous value`,
          );
          metrics.tableUndecodable.inc({ table: plan.name });
          continue;
        }
      }
      metrics.tableRecordsApplied.inc({ table: plan.name });
    }
    metrics.tableRows.set({ table: plan.name }, rows.size);
  };

  const reader = options.kafka.createPartitionReader({
    topic: plan.topic,
    isolation: 'read_committed',
    maxBytesPerPartition: 8 * 1024 * 1024,
    async onBatch(batch) {
      if (batch.records.length > 0) {
        await prepare(batch);
        apply(batch);
      }
      const end = behind.get(batch.partition);
      if (end !== undefined && BigInt(batch.nextOffset) >= BigInt(end)) {
        behind.delete(batch.partition);
        check();
      }
    },
    onFatalError(error) {
      log.error({ err: error }, `stopped following table ${plan.name}`);
      failed(error); // no effect once loaded: joins then see the rows as they were
    },
  });
  for (const entry of offsets) reader.seek(entry.partition, entry.low);
  check();
  return { rows, reader, ready };
}
