/**
 * Kafka's topics for sluice/testing, in memory: what a task's commits wrote, as read_committed
 * readers see it. Its transactional producer is the task's commit channel: a transaction's
 * records and offsets become visible at commit, and an abort drops them, as with Kafka.
 */
import {
  type OutgoingRecord,
  type PartitionWrite,
  partitionForKey,
  type TopicPartitionOffset,
  type TransactionalProducer,
} from '../../common/kafka/index.ts';

export interface StoredRecord extends OutgoingRecord {
  partition: number;
  offset: string;
}

export interface MemoryTopics {
  /** The committed records of a topic, by partition then offset. */
  read(topic: string): StoredRecord[];
  /** The committed records of one partition of a topic, from `from` (an offset) on. */
  readPartition(topic: string, partition: number, from?: number): StoredRecord[];
  /** The input offsets committed for a consumer group, by partition. */
  committedOffsets(groupId: string, topic: string): Map<number, string>;
  producer(transactionalId: string): TransactionalProducer;
}

/** `partitionsOf` gives a topic's partition count: keyed records go where murmur2 puts them, as with Kafka. */
export function createMemoryTopics(partitionsOf: (topic: string) => number): MemoryTopics {
  const logs = new Map<string, StoredRecord[][]>();
  const offsets = new Map<string, Map<number, string>>();
  const partitionLog = (topic: string, partition: number) => {
    const partitions = logs.get(topic) ?? [];
    logs.set(topic, partitions);
    partitions[partition] ??= [];
    return partitions[partition];
  };

  return {
    read: (topic) => (logs.get(topic) ?? []).flatMap((records) => records ?? []),
    readPartition: (topic, partition, from = 0) => (logs.get(topic)?.[partition] ?? []).slice(from),
    committedOffsets: (groupId, topic) => offsets.get(`${groupId}\u0000${topic}`) ?? new Map(),
    producer: (transactionalId) => ({
      transactionalId,
      async begin() {
        let pending: StoredRecord[] = [];
        /** Records of this transaction per topic-partition: the next offset is the log's end plus these. */
        let pendingCounts = new Map<string, number>();
        let pendingOffsets: { groupId: string; offsets: readonly TopicPartitionOffset[] }[] = [];
        return {
          async send(records: readonly OutgoingRecord[]): Promise<PartitionWrite[]> {
            return records.map((record) => {
              // unkeyed partitioning is the broker's business; the tests read such topics whole
              const partition =
                record.partition ??
                (record.key === null ? 0 : partitionForKey(record.key, partitionsOf(record.topic)));
              const id = `${record.topic}\u0000${partition}`;
              const taken = pendingCounts.get(id) ?? 0;
              pendingCounts.set(id, taken + 1);
              const offset = String(partitionLog(record.topic, partition).length + taken);
              pending.push({ ...record, partition, offset });
              return { topic: record.topic, partition, baseOffset: offset, count: 1 };
            });
          },
          async sendOffsets(groupId: string, committed: readonly TopicPartitionOffset[]) {
            pendingOffsets.push({ groupId, offsets: committed });
          },
          async commit() {
            for (const record of pending) partitionLog(record.topic, record.partition).push(record);
            for (const { groupId, offsets: committed } of pendingOffsets)
              for (const { topic, partition, offset } of committed) {
                const key = `${groupId}\u0000${topic}`;
                const group = offsets.get(key) ?? new Map<number, string>();
                offsets.set(key, group);
                group.set(partition, offset);
              }
            pending = [];
            pendingCounts = new Map();
            pendingOffsets = [];
          },
          async abort() {
            pending = [];
            pendingCounts = new Map();
            pendingOffsets = [];
          },
        };
      },
      disconnect: async () => undefined,
    }),
  };
}
