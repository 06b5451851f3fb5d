/**
 * A standby's warm state: follows its slot's changelog partitions (read_committed) into its own
 * RocksDB stores, exactly as a restore would, so that taking over only replays the last few
 * records. Reports how far behind the changelog end it is.
 */
import type { KafkaAdmin, KafkaClient } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import type { KeyValueStore } from '../state/store.ts';
import { openCheckedStore, storePath } from '../state/store-opener.ts';

export interface ChangelogTailer {
  /** The store a standby keeps for one of its partitions. */
  storeFor(partition: number): KeyValueStore | undefined;
  /** Changelog records (offsets) not yet applied, summed over the slot's partitions. */
  lag(): Promise<number>;
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
  for (const partition of partitions) {
    const high = offsets.find((entry) => entry.partition === partition)?.high ?? '0';
    const path = storePath(options.stateDir, options.appId, options.store, partition);
    const opened = await openCheckedStore(path, { high }, logger.child({ partition }));
    stores.set(partition, opened.store);
    positions.set(
      partition,
      opened.from ?? offsets.find((entry) => entry.partition === partition)?.low ?? '0',
    );
  }

  const abort = new AbortController();
  const following = kafka
    .readTopic({
      topic: changelogTopic,
      partitions,
      from: positions,
      until: 'follow',
      isolation: 'read_committed',
      signal: abort.signal,
      maxBytesPerPartition: 8 * 1024 * 1024,
      onPosition: (partition, next) => positions.set(partition, next),
      onBatch: async (records, partition, next) => {
        await stores.get(partition)!.write(
          {
            puts: records.filter((r) => r.value !== null).map((r) => [r.key!, r.value!] as const),
            deletes: records.filter((r) => r.value === null).map((r) => r.key!),
          },
          next,
        );
      },
    })
    .catch((error) => logger.error({ err: error }, 'standby stopped following the changelog'));
  logger.info({ partitions }, 'standby following the changelog');

  return {
    storeFor: (partition) => stores.get(partition),
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
    async stop() {
      abort.abort();
      await following;
      await Promise.all([...stores.values()].map((store) => store.close()));
    },
  };
}
