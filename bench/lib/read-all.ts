/** Every committed record of a topic up to its end now (read_committed), for output checks. */
import type { IncomingRecord, KafkaClient } from '../../common/kafka/index.ts';

export async function readAll(kafka: KafkaClient, topic: string): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  await kafka.readTopic({ topic, until: 'end', onBatch: (batch) => void records.push(...batch) });
  return records;
}
