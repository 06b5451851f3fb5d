/**
 * A standby's warm state: follows its slot's changelog partitions (read_committed) into its own
 * RocksDB stores, exactly as a restore would, so that taking over only replays the last few
 * records. Reports how far behind the changelog end it is, and whether it can reach Kafka.
 *
 * Stopping is final and bounded: once stop() resolves no batch is applied any more (the reader
 * guarantees no callback after its stop) and the stores are closed.
 */
import type { KafkaAdmin, KafkaClient } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { KeyValueStore } from '../state/store.ts';
import { toStoreChanges } from '../state/store.ts';
import { openCheckedStore, storePath } from '../state/store-opener.ts';

export interface ChangelogTailer {
  /** The store (by name) a standby keeps for one of its partitions. */
  storeFor(partition: number, store: string): KeyValueStore | undefined;
  /** Changelog records (offsets) not yet applied, summed over the slot's partitions. */
  lag(): Promise<number>;
  /** When (performance.now()) Kafka last answered the tailer: this standby can reach it. */
  lastFetchAt(): number | undefined;
  /** Stops following and closes the stores (they keep their positions). */
  stop(): Promise<void>;
}

export async function startChangelogTailer(options: {
  kafka: KafkaClient;
  admin: KafkaAdmin;
  appId: string;
  store: string;
  changelogTopic: string;
  partitions: readonly number[];
  stateDir: string;
  logger: Logger;
}): Promise<ChangelogTailer> {
  const { kafka, admin, changelogTopic, partitions, logger } = options;
  const offsets = await admin.topicOffsets(changelogTopic);
  const stores = new Map<number, KeyValueStore>();
  const positions = new Map<number, string>();
  try {
    for (const partition of partitions) {
      const entry = offsets.find((candidate) => candidate.partition === partition);
      const path = storePath(options.stateDir, options.appId, options.store, partition);
      const opened = await openCheckedStore(path, { high: entry?.high ?? '0' }, logger.child({ partition }));
      stores.set(partition, opened.store);
      positions.set(partition, opened.from ?? entry?.low ?? '0');
    }
  } catch (error) {
    await Promise.all([...stores.values()].map((store) => store.close()));
    throw error;
  }

  const reader = kafka.createPartitionReader({
    topic: changelogTopic,
    isolation: 'read_committed',
    maxBytesPerPartition: 8 * 1024 * 1024,
    async onBatch(batch) {
      if (batch.records.length > 0) {
        await stores
          .get(batch.partition)!
          .write(toStoreChanges(batch.records.map(changelogEntry)), batch.nextOffset);
      }
      positions.set(batch.partition, batch.nextOffset);
    },
    onFatalError: (error) => logger.error({ err: error }, 'standby stopped following the changelog'),
  });
  for (const [partition, position] of positions) reader.seek(partition, position);
  logger.info({ partitions }, 'standby following the changelog');

  let stopping: Promise<void> | undefined;
  return {
    storeFor: (partition, store) => (stopping || store !== options.store ? undefined : stores.get(partition)),
    async lag() {
      const ends = await admin.topicOffsets(changelogTopic);
      let lag = 0n;
      for (const partition of partitions) {
        const high = BigInt(ends.find((entry) => entry.partition === partition)?.high ?? '0');
        const position = BigInt(positions.get(partition) ?? '0');
        if (high > position) lag += high - position;
      }
      return Number(lag);
    },
    lastFetchAt: () => reader.lastFetchAt(),
    stop() {
      stopping ??= (async () => {
        await reader.stop();
        await Promise.all([...stores.values()].map((store) => store.close()));
      })();
      return stopping;
    },
  };
}

function changelogEntry(record: { key: Buffer | null; value: Buffer | null }): {
  key: Buffer;
  value: Buffer | null;
} {
  return { key: record.key!, value: record.value };
}

/**
 * A standby of an app with several stores (one per stateful sub-topology) follows every
 * changelog: one tailer per store, seen as one. `storeFor` asks each for the named store.
 * `more` starts further tailers to be seen as part of it (the partitioned tables' followers).
 */
export async function startChangelogTailers(
  options: Omit<Parameters<typeof startChangelogTailer>[0], 'store' | 'changelogTopic'> & {
    /** Each store with its sub-topology's partition count: only partitions below it are followed. */
    stores: readonly { name: string; changelogTopic: string; partitions?: number }[];
    more?: () => Promise<ChangelogTailer>;
  },
): Promise<ChangelogTailer> {
  const tailers: ChangelogTailer[] = [];
  try {
    for (const store of options.stores) {
      tailers.push(
        await startChangelogTailer({
          ...options,
          store: store.name,
          changelogTopic: store.changelogTopic,
          partitions: options.partitions.filter((partition) => partition < (store.partitions ?? Infinity)),
        }),
      );
    }
    if (options.more) tailers.push(await options.more());
  } catch (error) {
    await Promise.all(tailers.map((tailer) => tailer.stop()));
    throw error;
  }
  if (tailers.length === 1) return tailers[0]!;
  return {
    storeFor: (partition, store) =>
      tailers.map((tailer) => tailer.storeFor(partition, store)).find((found) => found !== undefined),
    lag: async () => (await Promise.all(tailers.map((tailer) => tailer.lag()))).reduce((a, b) => a + b, 0),
    lastFetchAt() {
      // reachable only if every changelog was fetched: the oldest answer counts
      const times = tailers.map((tailer) => tailer.lastFetchAt());
      return times.includes(undefined) ? undefined : Math.min(...(times as number[]));
    },
    stop: async () => {
      await Promise.all(tailers.map((tailer) => tailer.stop()));
    },
  };
}
