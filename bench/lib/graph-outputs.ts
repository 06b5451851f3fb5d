/**
 * Reading what the operator-graph workloads need to check a run: the Avro outputs of both
 * engines, and the records each engine found late after its repartition (sluice's dead letters,
 * the Kafka Streams peer's late topic).
 */
import type { IncomingRecord, KafkaClient } from '../../common/kafka/index.ts';
import { decodeRepartitionValue } from '../../processor/app/repartition-codec.ts';
import { deadLetterHeaders } from '../../processor/task/dead-letters.ts';
import { createSerde } from '../../schemas/serde.ts';
import { readAll } from './read-all.ts';

export interface LateRecord<V> {
  value: V;
  /** Event time (ms). */
  time: number;
}

export function graphOutputs(kafka: KafkaClient, registryUrl: string) {
  const serde = createSerde(registryUrl);
  return {
    /** Every committed record of an Avro topic, decoded. */
    async decoded<T>(topic: string): Promise<{ record: IncomingRecord; value: T }[]> {
      const records = await readAll(kafka, topic);
      await serde.prepare(records.map((record) => record.value));
      return records.map((record) => ({ record, value: serde.decode(record.value) as T }));
    },

    /**
     * sluice's late records after the repartition `repartitionTopic`, from its dead-letter topic.
     * Any other dead letter fails the run: the input holds nothing undecodable.
     */
    async sluiceLate<V>(dlqTopic: string, repartitionTopic: string): Promise<LateRecord<V>[]> {
      const letters = await readAll(kafka, dlqTopic);
      const header = (record: IncomingRecord, name: string) => record.headers[name]?.toString();
      const other = letters.filter(
        (letter) =>
          header(letter, deadLetterHeaders.stage) !== 'late' ||
          header(letter, deadLetterHeaders.topic) !== repartitionTopic,
      );
      if (other.length > 0)
        throw new Error(
          `${other.length} unexpected dead letter(s), e.g. stage ${header(other[0]!, deadLetterHeaders.stage)}: ${header(other[0]!, deadLetterHeaders.errorMessage)}`,
        );
      return letters.map((letter) => ({
        value: decodeRepartitionValue(letter.value) as V,
        time: Number(header(letter, deadLetterHeaders.timestamp)),
      }));
    },

    /** The peer's late records (its own binary value format, the event time as the record timestamp). */
    async peerLate<V>(topic: string, decode: (value: Buffer) => V): Promise<LateRecord<V>[]> {
      return (await readAll(kafka, topic)).map((record) => ({
        value: decode(record.value!),
        time: Number(record.timestamp),
      }));
    },
  };
}

/** Reads the peer's length-prefixed strings, bytes and longs (Java's ByteBuffer, big-endian). */
export class PeerBytes {
  private offset = 0;
  private readonly buffer: Buffer;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  string(): string {
    const length = this.buffer.readInt32BE(this.offset);
    const text = this.buffer.toString('utf8', this.offset + 4, this.offset + 4 + length);
    this.offset += 4 + length;
    return text;
  }

  boolean(): boolean {
    return this.buffer[this.offset++] === 1;
  }

  long(): number {
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return Number(value);
  }
}
