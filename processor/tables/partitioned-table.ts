/**
 * A partitioned table as one task holds it: partition p of the table's compacted topic, co-partitioned
 * with the task's input, in a RocksDB store of its own (`<stateDir>/<app>/table-<name>/<p>`) that
 * keeps every version of each row by record timestamp (versioned-rows.ts). The topic itself is the
 * changelog: the store records, in the same write batch as the versions, the table offset it
 * reflects; at start it is read from there to the end it had then (`ready`), then followed
 * (read_committed) while the task runs. A store that is missing, unreadable or beyond the topic's
 * end is rebuilt from the whole partition (store-opener.ts).
 *
 * Stopping is final: once stop() resolves nothing is written and the store is closed.
 */
import type { KafkaAdmin, KafkaClient } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { TablePlan } from '../app/topology.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import { openCheckedStore, storePath } from '../state/store-opener.ts';
import { rowAsOf, supersededVersions, versionKey, versionValue } from './versioned-rows.ts';

export interface PartitionedTable {
  /**
   * Decoded rows of these keys as of these times, in order: undefined for no row, an Error for a
   * version that cannot be decoded.
   */
  rowsAsOf(lookups: readonly { key: string; timestamp: number }[]): Promise<unknown[]>;
  /** Resolves once the store holds the partition up to the end it had when the table was opened. */
  readonly ready: Promise<void>;
  /** Table records (offsets) not yet in the store. */
  lag(): Promise<number>;
  /** When (performance.now()) Kafka last answered the follower. */
  lastFetchAt(): number | undefined;
  stop(): Promise<void>;
}

/** What state queries read of a task's table partition (also answered from a worker thread). */
export type TableRows = Pick<PartitionedTable, 'rowsAsOf'>;

/** The store of a partitioned table (named apart from aggregation stores). */
export const tableStoreName = (table: string) => `table-${table}`;

export async function openPartitionedTable(options: {
  plan: TablePlan;
  partition: number;
  appId: string;
  stateDir: string;
  kafka: KafkaClient;
  admin: KafkaAdmin;
  serde: Serde;
  logger: Logger;
  metrics: ProcessorMetrics;
  wipe?: boolean;
}): Promise<PartitionedTable> {
  const { plan, partition, serde, metrics } = options;
  const log = options.logger.child({ table: plan.name });
  const offsets = (await options.admin.topicOffsets(plan.topic)).find(
    (entry) => entry.partition === partition,
  );
  if (!offsets) throw new Error(`table topic ${plan.topic} has no partition ${partition}`);
  const opened = await openCheckedStore(
    storePath(options.stateDir, options.appId, tableStoreName(plan.name), partition),
    offsets,
    log,
    { wipe: options.wipe },
  );
  const { store } = opened;
  const from = opened.from ?? offsets.low;
  let caughtUp!: () => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    caughtUp = resolve;
    failed = reject;
  });
  ready.catch(() => undefined); // awaited by the task starter
  let position = from;
  let loaded = BigInt(from) >= BigInt(offsets.high);
  if (loaded) caughtUp();

  const reader = options.kafka.createPartitionReader({
    topic: plan.topic,
    isolation: 'read_committed',
    maxBytesPerPartition: 8 * 1024 * 1024,
    async onBatch(batch) {
      const puts: [Buffer, Buffer][] = [];
      const deletes: Buffer[] = [];
      for (const record of batch.records) {
        if (record.key === null) {
          log.warn(
            { partition, offset: record.offset },
            `a record of table ${plan.name} has no key: ignored (a table row needs one)`,
          );
          metrics.tableUndecodable.inc({ table: plan.name });
          continue;
        }
        const key = record.key.toString('utf8');
        puts.push([versionKey(key, record.timestamp), versionValue(record.value)]);
        deletes.push(...(await supersededVersions(store, key, record.timestamp - plan.historyMs)));
      }
      await store.write({ puts, deletes }, batch.nextOffset);
      position = batch.nextOffset;
      if (!loaded && BigInt(batch.nextOffset) >= BigInt(offsets.high)) {
        loaded = true;
        log.info({ partition, from, to: batch.nextOffset }, 'partitioned table restored from its topic');
        caughtUp();
      }
    },
    onFatalError(error) {
      log.error({ err: error }, `stopped following table ${plan.name}`);
      failed(error);
    },
  });
  reader.seek(partition, from);

  let stopping: Promise<void> | undefined;
  return {
    ready,
    async lag() {
      const end = (await options.admin.topicOffsets(plan.topic)).find(
        (entry) => entry.partition === partition,
      );
      const behind = BigInt(end?.high ?? '0') - BigInt(position);
      return behind > 0n ? Number(behind) : 0;
    },
    lastFetchAt: () => reader.lastFetchAt(),
    async rowsAsOf(lookups) {
      const values = await Promise.all(lookups.map(({ key, timestamp }) => rowAsOf(store, key, timestamp)));
      await serde.prepare(values.filter((value) => value !== undefined));
      return values.map((value) => {
        if (value === undefined) return undefined;
        try {
          return serde.decode(value);
        } catch (error) {
          return new Error(`the row of table ${plan.name} cannot be decoded: ${(error as Error).message}`);
        }
      });
    },
    stop() {
      stopping ??= (async () => {
        await reader.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
