/** Clients of the test services, built the way sluice builds them. */
import type { IncomingRecord } from '../../common/kafka/index.ts';
import { createKafkaClient, type KafkaClient, parseBrokers } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { uniqueName } from './names.ts';
import { testServices } from './services.ts';

export function testKafka(brokers = testServices().kafkaBrokers): KafkaClient {
  return createKafkaClient({ brokers: parseBrokers(brokers), clientId: uniqueName('test') }, silentLogger());
}

/** Every record of a topic up to its current end, as a read_committed (or uncommitted) reader sees it. */
export async function readAll(
  kafka: KafkaClient,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  await kafka.readTopic({ topic, until: 'end', isolation, onBatch: (batch) => void records.push(...batch) });
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
