/**
 * Reads chosen partitions of a topic from chosen offsets, outside any application's consumer
 * group: to the end offsets seen at start ('end'), or until stopped ('follow'). Used to restore
 * and tail changelogs, dump topics, and check outputs in tests.
 *
 * kafkajs has no manual assignment, so a reader joins a throwaway group of its own, seeks to the
 * start offsets (again after any restart of the consumer), pauses the partitions it does not want,
 * and deletes the group at the end. A fetch issued before a seek may start at the log start:
 * eachBatch drops what lies before the reader's position.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaHandle } from './client.ts';
import { kafkaCall } from './errors.ts';
import { toIncoming } from './incoming-record.ts';
import type { IncomingRecord, Isolation } from './types.ts';

export interface ReadOptions {
  topic: string;
  /** @default every partition of the topic */
  partitions?: readonly number[];
  /** First offset to read per partition; partitions not listed start at the log start. */
  from?: ReadonlyMap<number, string>;
  /** 'end': stop at the end offsets seen at start; 'follow': read until `signal` aborts. */
  until: 'end' | 'follow';
  /** @default 'read_committed' */
  isolation?: Isolation;
  /** Called in offset order per partition; `next` is the offset after the batch (markers included). */
  onBatch(records: IncomingRecord[], partition: number, next: string): Promise<void> | void;
  /** Told whenever a partition's position moves (transaction markers included). */
  onPosition?(partition: number, next: string): void;
  /** Told of the end offsets read at start ('end' mode), e.g. to show progress. */
  onTargets?(targets: ReadonlyMap<number, { from: bigint; to: bigint }>): void;
  signal?: AbortSignal;
  /** @default 4 MiB */
  maxBytesPerPartition?: number;
}

/** Positions (next offset to read) per partition when the read ended. */
export type ReadResult = Map<number, string>;

export async function readTopic(handle: KafkaHandle, options: ReadOptions): Promise<ReadResult> {
  const admin = handle.kafka.admin();
  await kafkaCall('connecting to Kafka (reader)', () => admin.connect());
  const groupId = `${handle.connection.clientId}-reader-${randomUUID()}`;
  const consumer = handle.kafka.consumer({
    groupId,
    readUncommitted: options.isolation === 'read_uncommitted',
    maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    allowAutoTopicCreation: false,
  });
  try {
    const offsets = await kafkaCall(`reading offsets of ${options.topic}`, () =>
      admin.fetchTopicOffsets(options.topic),
    );
    const wanted = new Set(options.partitions ?? offsets.map((entry) => entry.partition));
    const positions: ReadResult = new Map();
    const targets = new Map<number, { from: bigint; to: bigint }>();
    for (const { partition, low, high } of offsets) {
      if (!wanted.has(partition)) continue;
      const requested = options.from?.get(partition);
      // a start before the log start (compaction, retention) begins at the log start
      const start = requested === undefined || BigInt(requested) < BigInt(low) ? low : requested;
      positions.set(partition, start);
      targets.set(partition, { from: BigInt(start), to: BigInt(high) });
    }
    options.onTargets?.(targets);

    const pending = new Set(
      [...targets]
        .filter(([, { from, to }]) => options.until === 'follow' || from < to)
        .map(([partition]) => partition),
    );
    if (pending.size === 0) return positions;

    let finish!: () => void;
    let fail!: (error: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const advance = (partition: number, next: bigint) => {
      const current = BigInt(positions.get(partition) ?? '0');
      if (next > current) {
        positions.set(partition, next.toString());
        options.onPosition?.(partition, next.toString());
      }
      const target = targets.get(partition);
      if (
        options.until === 'end' &&
        target &&
        next >= target.to &&
        pending.delete(partition) &&
        pending.size === 0
      ) {
        finish();
      }
    };

    // batches holding only transaction markers or aborted records never reach eachBatch
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === options.topic && wanted.has(payload.partition)) {
        advance(payload.partition, BigInt(payload.lastOffset) + 1n);
      }
    });
    // kafkajs restarts the consumer after retriable errors (e.g. a broker that is still loading)
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) fail(payload.error);
    });
    // on every join (the first, and after a restart) resume where this reader is
    const unwanted = offsets.map((entry) => entry.partition).filter((partition) => !wanted.has(partition));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of positions) consumer.seek({ topic: options.topic, partition, offset });
      if (unwanted.length > 0) consumer.pause([{ topic: options.topic, partitions: unwanted }]);
    });
    options.signal?.addEventListener('abort', () => finish(), { once: true });

    await kafkaCall(`subscribing to ${options.topic}`, () => consumer.connect());
    await kafkaCall(`subscribing to ${options.topic}`, () =>
      consumer.subscribe({ topic: options.topic, fromBeginning: true }),
    );
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (!wanted.has(batch.partition) || !pending.has(batch.partition)) return;
        const next = BigInt(positions.get(batch.partition) ?? '0');
        // offsets ascend within a batch: only one that starts before the position needs filtering
        const first = batch.messages[0];
        const messages =
          first && BigInt(first.offset) < next
            ? batch.messages.filter((message) => BigInt(message.offset) >= next)
            : batch.messages;
        const records = messages.map((message) => toIncoming(batch.topic, batch.partition, message));
        if (records.length > 0) {
          await options.onBatch(records, batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
        }
        advance(batch.partition, BigInt(batch.lastOffset()) + 1n);
      },
    });
    if (options.signal?.aborted) finish();
    await finished;
    return positions;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
