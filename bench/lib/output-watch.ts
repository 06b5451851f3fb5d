/**
 * The failover workload's one observer, the same for sluice and Kafka Streams: a read_committed
 * reader of the output topic with no consumer group, running before a kill, that notes when each
 * committed batch became visible. "First committed output of the new owner" is then the first
 * batch holding an offset at or past the partition's end at the kill: the victim's own records
 * lie below that end, and its open transaction is aborted, never committed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClient, PartitionReader } from '../../common/kafka/index.ts';

interface Arrival {
  partition: number;
  lastOffset: bigint;
  at: number;
}

export interface OutputWatch {
  /** End offsets (next offset) of the given partitions now. */
  ends(partitions: readonly number[]): Promise<Map<number, bigint>>;
  /**
   * Date.now() when a committed record at or past `marks` (per partition) was first seen;
   * undefined when none came within `timeoutMs` of the call.
   */
  firstPast(marks: ReadonlyMap<number, bigint>, timeoutMs: number): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** How long arrivals are kept (longer than any failover measured here). */
const keepMs = 300_000;

export async function watchOutput(kafka: KafkaClient, topic: string, partitions: readonly number[]) {
  const admin = await kafka.connectAdmin();
  const arrivals: Arrival[] = [];
  const reader: PartitionReader = kafka.createPartitionReader({
    topic,
    isolation: 'read_committed',
    maxWaitMs: 50,
    onBatch: async (batch) => {
      const last = batch.records.at(-1);
      if (!last) return;
      const at = Date.now();
      arrivals.push({ partition: batch.partition, lastOffset: BigInt(last.offset), at });
      while (arrivals.length > 0 && arrivals[0]!.at < at - keepMs) arrivals.shift();
    },
  });
  const ends = async (wanted: readonly number[]) => {
    const offsets = await admin.topicOffsets(topic);
    return new Map(
      offsets
        .filter((entry) => wanted.includes(entry.partition))
        .map((entry) => [entry.partition, BigInt(entry.high)]),
    );
  };
  for (const [partition, end] of await ends(partitions)) reader.seek(partition, end.toString());
  const watch: OutputWatch = {
    ends,
    async firstPast(marks, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = arrivals.find((arrival) => {
          const mark = marks.get(arrival.partition);
          return mark !== undefined && arrival.lastOffset >= mark;
        });
        if (seen) return seen.at;
        if (Date.now() > deadline) return undefined;
        await sleep(10);
      }
    },
    async stop() {
      await reader.stop();
      await admin.disconnect();
    },
  };
  return watch;
}
