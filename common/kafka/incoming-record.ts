/** kafkajs' decoded messages turned into our IncomingRecord (headers flattened to one value each). */
import type { KafkaMessage } from 'kafkajs';
import type { IncomingRecord } from './types.ts';

export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  const headers: Record<string, Buffer | undefined> = {};
  const given = message.headers;
  for (const name in given) {
    const value = given[name];
    headers[name] = Array.isArray(value) ? (value[0] as Buffer | undefined) : (value as Buffer | undefined);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}
