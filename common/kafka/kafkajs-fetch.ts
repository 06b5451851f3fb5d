/**
 * The layer of kafkajs below its consumer, as the partition reader uses it: a cluster (metadata
 * and broker connections; `Kafka.cluster()` comes from our patch), the FETCH request, and
 * kafkajs' own Batch for aborted-transaction and control-record filtering. kafkajs' typings do
 * not describe these, so their shapes are written down here, once.
 */
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { ConsumedBatch } from './consumer.ts';
import { toIncoming } from './incoming-record.ts';
import {
  decodeKeyValues,
  decodeRawFetchV11,
  type KeyValues,
  type RawFetchPartition,
} from './record-batch-decoder.ts';
import type { Isolation } from './types.ts';

const require = createRequire(import.meta.url);

/** A record as kafkajs decodes it from a FETCH response (control records and aborted ones included). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  timestamp: string;
  isControlRecord?: boolean;
}

/**
 * A partition's records; `batchesEnd` (our patch of decodeMessages) is the offset after the last
 * whole record batch, also when compaction emptied it or removed its last records.
 */
export type FetchedRecords = FetchedRecord[] & { batchesEnd?: string };

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset?: string;
  abortedTransactions?: { producerId: string; firstOffset: string }[];
  messages: FetchedRecords;
}

export interface FetchRequest {
  isolationLevel: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  /** Our patch of broker.fetch: decodes the response instead of kafkajs (given its decoder). */
  decodeResponse?: (
    data: Buffer,
    apiVersion: number,
    kafkajsDecode: (data: Buffer) => Promise<unknown>,
  ) => unknown;
}

export interface KafkaJsBroker {
  fetch(
    request: FetchRequest,
  ): Promise<{ responses: { topicName: string; partitions: (FetchedPartition | RawFetchPartition)[] }[] }>;
}

/** Keeps record sets as bytes where we read the version (v11); kafkajs decodes any other. */
export const keyValueResponses: FetchRequest['decodeResponse'] = (data, apiVersion, kafkajsDecode) =>
  apiVersion === 11 ? decodeRawFetchV11(data) : kafkajsDecode(data);

export interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number | null }[];
  findBroker(options: { nodeId: string }): Promise<KafkaJsBroker>;
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

const isolationLevels: {
  READ_UNCOMMITTED: number;
  READ_COMMITTED: number;
} = require('kafkajs/src/protocol/isolationLevel.js');

export function isolationLevel(isolation: Isolation): number {
  return isolation === 'read_uncommitted' ? isolationLevels.READ_UNCOMMITTED : isolationLevels.READ_COMMITTED;
}

/** A cluster of its own (metadata, connections) for one reader; closed with the reader. */
export function createCluster(kafka: Kafka, isolation: Isolation): KafkaJsCluster {
  const client = kafka as unknown as { cluster(options: { isolationLevel: number }): KafkaJsCluster };
  return client.cluster({ isolationLevel: isolationLevel(isolation) });
}

/** The first offset still in a partition's log and the offset after its last (under the cluster's isolation). */
export async function partitionBounds(
  cluster: KafkaJsCluster,
  topic: string,
  partition: number,
): Promise<{ logStart: string; logEnd: string }> {
  const ask = async (fromBeginning: boolean) => {
    const answer = await cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions: [{ partition }] }]);
    return answer[0]?.partitions.find((entry) => entry.partition === partition)?.offset;
  };
  const [logStart, logEnd] = await Promise.all([ask(true), ask(false)]);
  return { logStart: logStart ?? '0', logEnd: logEnd ?? logStart ?? '0' };
}

const Decoder: new (buffer: Buffer) => unknown = require('kafkajs/src/protocol/decoder.js');
const decodeMessages: (
  decoder: unknown,
) => Promise<FetchedRecords> = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');

const Batch: new (
  topic: string,
  fetchedOffset: string,
  partitionData: FetchedPartition,
) => { messages: FetchedRecord[] } = require('kafkajs/src/consumer/batch.js');

/**
 * What one partition of a FETCH response delivers, read from `fetchedOffset`: the records visible
 * under the request's isolation (aborted records and transaction markers dropped by kafkajs' Batch)
 * and the position after every whole record batch fetched (markers, aborted records and batches
 * emptied by compaction included). Undefined when the position did not move (nothing new).
 */
export function toConsumedBatch(
  topic: string,
  fetchedOffset: string,
  data: FetchedPartition,
): ConsumedBatch | undefined {
  const last = data.messages.at(-1);
  const { batchesEnd } = data.messages;
  // without batchesEnd (the old message format) the last record ends what was fetched
  const nextOffset =
    batchesEnd !== undefined ? BigInt(batchesEnd) : last !== undefined ? BigInt(last.offset) + 1n : undefined;
  if (nextOffset === undefined || nextOffset <= BigInt(fetchedOffset)) return undefined;
  const visible = new Batch(topic, fetchedOffset, data).messages;
  return {
    topic,
    partition: data.partition,
    fetchedOffset,
    nextOffset: nextOffset.toString(),
    records: visible.map((message) =>
      toIncoming(topic, data.partition, message as Parameters<typeof toIncoming>[2]),
    ),
    highWatermark: data.highWatermark,
    // no group membership to keep alive
    heartbeat: async () => undefined,
  };
}

/**
 * `toConsumedBatch` for a reader of keys and values only: the batch's `keyValues` instead of
 * records. A partition our decoder does not read (an old format, another codec) or a response
 * kafkajs decoded (another FETCH version) goes through kafkajs, with the same result.
 */
export async function toKeyValueBatch(
  topic: string,
  fetchedOffset: string,
  data: FetchedPartition | RawFetchPartition,
): Promise<ConsumedBatch | undefined> {
  let decoded: (KeyValues & { batchesEnd: string | undefined }) | undefined;
  let kafkajsData: FetchedPartition;
  if ('recordSet' in data) {
    decoded = decodeKeyValues(data.recordSet, fetchedOffset, data.abortedTransactions);
    if (decoded) {
      const nextOffset = decoded.batchesEnd;
      if (nextOffset === undefined || BigInt(nextOffset) <= BigInt(fetchedOffset)) return undefined;
      return {
        topic,
        partition: data.partition,
        fetchedOffset,
        nextOffset,
        records: [],
        keyValues: { keys: decoded.keys, values: decoded.values },
        highWatermark: data.highWatermark,
        heartbeat: async () => undefined,
      };
    }
    const sized = Buffer.alloc(4 + (data.recordSet?.length ?? 0));
    sized.writeInt32BE(data.recordSet?.length ?? -1);
    data.recordSet?.copy(sized, 4);
    kafkajsData = { ...data, messages: await decodeMessages(new Decoder(sized)) };
  } else {
    kafkajsData = data;
  }
  const batch = toConsumedBatch(topic, fetchedOffset, kafkajsData);
  if (!batch) return undefined;
  return {
    ...batch,
    records: [],
    keyValues: {
      keys: batch.records.map((record) => record.key),
      values: batch.records.map((record) => record.value),
    },
  };
}
