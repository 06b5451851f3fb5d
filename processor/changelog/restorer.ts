/**
 * Restore: replays a changelog partition (read_committed) from the position a store reflects to
 * the changelog's end, in large batches written to RocksDB with the position they reach, and
 * reports progress (records done / total, rate, ETA). Runs before the partition processes anything.
 */
import type { KafkaClient } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import { type KeyValueStore, toStoreChanges } from '../state/store.ts';

export interface RestoreProgress {
  partition: number;
  done: number;
  total: number;
}

export interface RestoreResult {
  records: number;
  durationMs: number;
  /** The changelog position the store reflects afterwards. */
  position: string;
}

export async function restoreFromChangelog(options: {
  kafka: KafkaClient;
  store: KeyValueStore;
  topic: string;
  partition: number;
  /** First offset to replay; undefined replays the whole changelog. */
  from: string | undefined;
  logger: Logger;
  onProgress?: (progress: RestoreProgress) => void;
}): Promise<RestoreResult> {
  const { store, partition, logger } = options;
  const started = Date.now();
  let total = 0;
  let done = 0;
  let lastLog = started;
  let position = options.from ?? '0';

  const report = (final = false) => {
    options.onProgress?.({ partition, done, total });
    const now = Date.now();
    if (!final && now - lastLog < 1000) return;
    lastLog = now;
    const rate = done / Math.max(0.001, (now - started) / 1000);
    const etaSeconds = rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
    logger.info(
      {
        done,
        total,
        ratePerSecond: Math.round(rate),
        etaSeconds: final ? 0 : etaSeconds && Math.ceil(etaSeconds),
        durationMs: now - started,
      },
      final ? 'restore finished' : 'restoring',
    );
  };

  const positions = await options.kafka.readTopic({
    topic: options.topic,
    partitions: [partition],
    from: options.from === undefined ? undefined : new Map([[partition, options.from]]),
    until: 'end',
    isolation: 'read_committed',
    maxBytesPerPartition: 8 * 1024 * 1024,
    onTargets: (targets) => {
      const target = targets.get(partition);
      if (target) total = Number(target.to - target.from);
    },
    // keys and values only, undecoded beyond them (common/kafka/record-batch-decoder.ts)
    onKeyValues: async ({ keys, values }, _partition, next) => {
      // every changelog record has a key (the store key); a null value is a tombstone. In
      // changelog order: a key deleted and set again in one batch must end set (toStoreChanges)
      const changes = toStoreChanges(
        keys.map((key, index) => ({ key: key as Buffer, value: values[index] ?? null })),
      );
      await store.write(changes, next);
      position = next;
      done += keys.length;
      report();
    },
  });
  position = positions.get(partition) ?? position;
  // markers after the last record moved the position without a batch: record it too
  if (position !== (await store.changelogPosition())) await store.write({ puts: [], deletes: [] }, position);
  report(true);
  return { records: done, durationMs: Date.now() - started, position };
}
