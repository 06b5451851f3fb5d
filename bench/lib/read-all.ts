/** Every committed record of a topic up to its end now (read_committed), for output checks. */
import type { IncomingRecord, KafkaClient, ReadOptions } from '../../common/kafka/index.ts';

/**
 * The records of `topic` from `from` (the start by default) to its end now. A batch is appended
 * record by record: a fetch of small records can hold more of them than `push(...batch)` may
 * pass as arguments (the Kafka Streams peer's late topic overflowed the stack that way).
 */
export async function readAll(
  kafka: KafkaClient,
  topic: string,
  from?: ReadOptions['from'],
): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  await kafka.readTopic({
    topic,
    from,
    until: 'end',
    onBatch: (batch) => {
      for (const record of batch) records.push(record);
    },
  });
  return records;
}
