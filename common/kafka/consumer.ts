/**
 * A consumer-group member for processors without a cluster (Kafka's group decides who owns which
 * partition): batches per partition, no auto-commit, explicit seeks, assignment changes reported.
 *
 * Each batch carries the offset it was fetched from and the position after it (transaction
 * markers included), so a task can drop batches fetched before one of its seeks took effect.
 */
import type { Consumer } from 'kafkajs';
import type { KafkaHandle } from './client.ts';
import { kafkaCall } from './errors.ts';
import { toIncoming } from './incoming-record.ts';
import type { KeyValues } from './record-batch-decoder.ts';
import type { IncomingRecord, Isolation } from './types.ts';

export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** The offset this batch was fetched from. */
  fetchedOffset: string;
  /** The position after the batch: last offset + 1, markers and aborted records included. */
  nextOffset: string;
  /** Records visible under the isolation level, in offset order (may be empty). */
  records: IncomingRecord[];
  /** Instead of records, from a reader of keys and values only (partition-reader `keyValuesOnly`). */
  keyValues?: KeyValues;
  highWatermark: string;
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
}

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  /** How many partitions' batches run at once. */
  partitionsInParallel: number;
  isolation?: Isolation;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /** @default 1 MiB */
  maxBytesPerPartition?: number;
  /** @default 100 */
  maxWaitMs?: number;
}

export interface GroupConsumerHandlers {
  /** The full set of partitions of the topic this member owns now (after every rebalance). */
  onAssignment(partitions: number[]): void;
  onBatch(batch: ConsumedBatch): Promise<void>;
  /** A consumer crash that kafkajs will not recover from by itself. */
  onFatalError(error: unknown): void;
}

export interface GroupConsumer {
  start(handlers: GroupConsumerHandlers): Promise<void>;
  /** Next fetch of `partition` starts at `offset` (batches fetched before are dropped). */
  seek(partition: number, offset: string): void;
  /** Commits offsets outside a transaction (at-least-once). */
  /** Commits as the group member; `topic` defaults to the subscribed one (a member may commit others' too). */
  commitOffsets(offsets: readonly { topic?: string; partition: number; offset: string }[]): Promise<void>;
  /** Stops fetching and waits for running batches; stays in the group. */
  stop(): Promise<void>;
  /** Leaves the group. */
  disconnect(): Promise<void>;
}

export function createGroupConsumer(handle: KafkaHandle, options: GroupConsumerOptions): GroupConsumer {
  const consumer: Consumer = handle.kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.isolation === 'read_uncommitted',
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    maxWaitTimeInMs: options.maxWaitMs ?? 100,
    allowAutoTopicCreation: false,
  });
  const { topic } = options;
  // stop() keeps the membership (kafkajs' own stop leaves the group): batches and assignments
  // that arrive after it are dropped, and it waits for the batches already running
  let stopping = false;
  let running = 0;
  const idle: (() => void)[] = [];
  const handleBatch = async (work: () => Promise<void>) => {
    if (stopping) return; // not processed, not committed: fetched again by the partition's next owner
    running++;
    try {
      await work();
    } finally {
      running--;
      if (running === 0) for (const wake of idle.splice(0)) wake();
    }
  };

  return {
    async start(handlers) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        if (stopping) return;
        handlers.onAssignment([...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b));
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) handlers.onFatalError(payload.error);
      });
      // batches holding only markers or aborted records never reach eachBatch; tell the task,
      // with their first offset (the fetch offset when the log is not compacted)
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize === 0 && payload.topic === topic && !stopping) {
          void handlers.onBatch({
            topic,
            partition: payload.partition,
            fetchedOffset: String(payload.firstOffset ?? payload.lastOffset),
            nextOffset: (BigInt(payload.lastOffset) + 1n).toString(),
            records: [],
            highWatermark: payload.highWatermark,
            heartbeat: async () => undefined,
          });
        }
      });
      await kafkaCall(`connecting consumer of ${options.groupId}`, () => consumer.connect());
      await kafkaCall(`subscribing ${options.groupId} to ${topic}`, () =>
        consumer.subscribe({ topic, fromBeginning: true }),
      );
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: options.partitionsInParallel,
        eachBatch: ({ batch, heartbeat }) =>
          handleBatch(() =>
            handlers.onBatch({
              topic: batch.topic,
              partition: batch.partition,
              // set by kafkajs on every Batch, though missing from its typings
              fetchedOffset: (batch as unknown as { fetchedOffset: string }).fetchedOffset,
              nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(),
              records: batch.messages.map((message) => toIncoming(batch.topic, batch.partition, message)),
              highWatermark: batch.highWatermark,
              heartbeat,
            }),
          ),
      });
    },
    seek(partition, offset) {
      consumer.seek({ topic, partition, offset });
    },
    async commitOffsets(offsets) {
      await kafkaCall(`committing offsets of ${options.groupId}`, () =>
        consumer.commitOffsets(
          offsets.map((entry) => ({
            topic: entry.topic ?? topic,
            partition: entry.partition,
            offset: entry.offset,
          })),
        ),
      );
    },
    async stop() {
      // still a member while the caller commits: leaving first would hand this member's
      // partitions to another, whose tasks fence the transactions still to be committed here
      stopping = true;
      try {
        consumer.pause([{ topic }]);
      } catch {
        // not running (never started, or crashed): nothing fetches
      }
      if (running > 0) await new Promise<void>((resolve) => idle.push(resolve));
    },
    disconnect: () => consumer.disconnect(),
  };
}
