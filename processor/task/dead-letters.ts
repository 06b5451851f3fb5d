/**
 * Dead letters: a record that cannot be decoded or processed, or arrives too late, goes to
 * `<app>-dlq` with its original key, value and headers, plus headers saying where it came from
 * and why. It is written in the same transaction as the task's other output.
 */
import type { IncomingRecord, OutgoingRecord } from '../../common/kafka/index.ts';

export type DeadLetterStage = 'decode' | 'process' | 'late' | 'emit';

export const deadLetterHeaders = {
  topic: 'sluice.dlq.topic',
  partition: 'sluice.dlq.partition',
  offset: 'sluice.dlq.offset',
  stage: 'sluice.dlq.stage',
  errorClass: 'sluice.dlq.error-class',
  errorMessage: 'sluice.dlq.error-message',
  /**
   * The original record's timestamp (ms), when it had one: after a repartition it is the event
   * time, which the value may no longer carry (a join's output), so a reader can tell which window
   * a late record missed. A header, not the dead letter's own timestamp: an old event time there
   * would let time-based retention delete dead letters early.
   */
  timestamp: 'sluice.dlq.timestamp',
} as const;

export function deadLetter(
  dlqTopic: string,
  record: Pick<IncomingRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'> &
    Partial<Pick<IncomingRecord, 'timestamp'>>,
  stage: DeadLetterStage,
  error: { name: string; message: string },
): OutgoingRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(record.headers)) if (value !== undefined) headers[name] = value;
  headers[deadLetterHeaders.topic] = record.topic;
  headers[deadLetterHeaders.partition] = String(record.partition);
  headers[deadLetterHeaders.offset] = record.offset;
  headers[deadLetterHeaders.stage] = stage;
  headers[deadLetterHeaders.errorClass] = error.name;
  headers[deadLetterHeaders.errorMessage] = error.message.slice(0, 2000);
  if (record.timestamp !== undefined) headers[deadLetterHeaders.timestamp] = String(record.timestamp);
  return { topic: dlqTopic, partition: record.partition, key: record.key, value: record.value, headers };
}
