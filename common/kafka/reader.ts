/**
 * Reads chosen partitions of a topic from chosen offsets, outside any application's consumer
 * group: to the end offsets seen at start ('end'), or until stopped ('follow'). Used to restore
 * and tail changelogs, dump topics, and check outputs in tests.
 *
 * Built on the partition reader (no consumer group, so no join delay and no restart of a stopped
 * consumer): once the read ended (end reached, signal aborted, or failed) no onBatch is called
 * again, and an onBatch that was running has finished.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.ts';
import { connectAdmin, type PartitionOffsets } from './admin.ts';
import type { KafkaHandle } from './client.ts';
import { createPartitionReader } from './partition-reader.ts';
import { classifyReadError, readBackoffMs } from './read-errors.ts';
import type { KeyValues } from './record-batch-decoder.ts';
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
  onBatch?(records: IncomingRecord[], partition: number, next: string): Promise<void> | void;
  /**
   * Instead of onBatch, for a reader that needs keys and values only (changelog restore): the
   * records are not decoded beyond them (partition-reader `keyValuesOnly`).
   */
  onKeyValues?(batch: KeyValues, partition: number, next: string): Promise<void> | void;
  /** Told whenever a partition's position moves (transaction markers included). */
  onPosition?(partition: number, next: string): void;
  /** Told of the end offsets read at start ('end' mode), e.g. to show progress. */
  onTargets?(targets: ReadonlyMap<number, { from: bigint; to: bigint }>): void;
  signal?: AbortSignal;
  /** @default 4 MiB */
  maxBytesPerPartition?: number;
}

/** Positions (next offset to read) per partition when the read ended (`from` if aborted before reading). */
export type ReadResult = Map<number, string>;

/** Settles like `work`, or with undefined as soon as `signal` aborts (`work` then goes on unheard). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function readTopic(handle: KafkaHandle, options: ReadOptions): Promise<ReadResult> {
  const { topic } = options;
  const readOffsets = async (): Promise<PartitionOffsets[]> => {
    for (let failures = 1; ; failures++) {
      try {
        const admin = await connectAdmin(handle);
        return await admin.topicOffsets(topic).finally(() => admin.disconnect());
      } catch (error) {
        // 'follow' (a tailer) waits for Kafka as the partition reader does; 'end' (a restore) reports it
        if (options.until === 'end' || options.signal?.aborted || classifyReadError(error) !== 'retriable') {
          throw error;
        }
        const delay = readBackoffMs(failures);
        handle.logger.warn(
          { topic, failures, retryInMs: delay },
          `reading the offsets of ${topic} failed, retrying: ${describeError(error)}`,
        );
        await sleep(delay);
      }
    }
  };
  // a read stopped while Kafka does not answer (a tailer stopping behind a broker restart) ends
  // at once, with the positions it was given
  const offsets = await unlessAborted(readOffsets(), options.signal);
  if (offsets === undefined) return new Map(options.from);
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
  if (pending.size === 0 || options.signal?.aborted) return positions;

  let ended = false;
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const reader = createPartitionReader(handle, {
    topic,
    isolation: options.isolation ?? 'read_committed',
    maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
    keyValuesOnly: options.onKeyValues !== undefined,
    onBatch: async (batch) => {
      if (ended || !pending.has(batch.partition)) return;
      if (batch.keyValues && batch.keyValues.keys.length > 0)
        await options.onKeyValues?.(batch.keyValues, batch.partition, batch.nextOffset);
      if (batch.records.length > 0) await options.onBatch?.(batch.records, batch.partition, batch.nextOffset);
      advance(batch.partition, BigInt(batch.nextOffset));
    },
    // a Kafka failure comes explained (a SluiceError); the caller's own comes as it threw it
    onFatalError: (error) => end(error),
  });
  // ends the read at once (no callback after this), whatever is in flight
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    void reader.stop();
    if (error === undefined) finish();
    else fail(error);
  };
  const advance = (partition: number, next: bigint) => {
    if (next > BigInt(positions.get(partition) ?? '0')) {
      positions.set(partition, next.toString());
      options.onPosition?.(partition, next.toString());
    }
    const target = targets.get(partition);
    if (options.until === 'end' && target && next >= target.to && pending.delete(partition)) {
      if (pending.size === 0) end();
      else void reader.remove(partition);
    }
  };
  const onAbort = () => end();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  for (const partition of pending) reader.seek(partition, positions.get(partition) as string);
  try {
    await finished;
    return positions;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await reader.stop();
  }
}
