/**
 * The Kafka module's front door: everything of sluice that talks to Kafka goes through a
 * KafkaClient made here. Only the files of this folder import kafkajs.
 */
import type { Logger } from '../log.ts';
import { connectAdmin, type KafkaAdmin } from './admin.ts';
import { createKafkaHandle } from './client.ts';
import { createGroupConsumer, type GroupConsumer, type GroupConsumerOptions } from './consumer.ts';
import {
  createPartitionReader,
  type PartitionReader,
  type PartitionReaderOptions,
} from './partition-reader.ts';
import {
  createIdempotentProducer,
  createTransactionalProducer,
  type KafkaProducer,
  type ProducerOptions,
  type TransactionalProducer,
  type TransactionalProducerOptions,
} from './producer.ts';
import { type ReadOptions, type ReadResult, readTopic } from './reader.ts';
import type { KafkaConnection } from './types.ts';

export type { KafkaAdmin, PartitionOffsets } from './admin.ts';
export type {
  ConsumedBatch,
  GroupConsumer,
  GroupConsumerHandlers,
  GroupConsumerOptions,
} from './consumer.ts';
export { isFencedError } from './errors.ts';
export type { PartitionReader, PartitionReaderOptions } from './partition-reader.ts';
export type {
  KafkaProducer,
  ProducerOptions,
  Transaction,
  TransactionalProducer,
  TransactionalProducerOptions,
} from './producer.ts';
export { partitionForKey } from './producer.ts';
export type { ReadOptions, ReadResult } from './reader.ts';
export type * from './types.ts';

export interface KafkaClient {
  connectAdmin(): Promise<KafkaAdmin>;
  /** An idempotent producer, acks=all. */
  createProducer(options?: ProducerOptions): Promise<KafkaProducer>;
  /** Connecting fences older producers with the same transactional id. */
  createTransactionalProducer(
    transactionalId: string,
    options?: TransactionalProducerOptions,
  ): Promise<TransactionalProducer>;
  readTopic(options: ReadOptions): Promise<ReadResult>;
  createGroupConsumer(options: GroupConsumerOptions): GroupConsumer;
  /** Reads partitions the caller assigns (seek), with no consumer group. */
  createPartitionReader(options: PartitionReaderOptions): PartitionReader;
}

export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const handle = createKafkaHandle(connection, logger);
  return {
    connectAdmin: () => connectAdmin(handle),
    createProducer: (options) => createIdempotentProducer(handle, options),
    createTransactionalProducer: (transactionalId, options) =>
      createTransactionalProducer(handle, transactionalId, options),
    readTopic: (options) => readTopic(handle, options),
    createGroupConsumer: (options) => createGroupConsumer(handle, options),
    createPartitionReader: (options) => createPartitionReader(handle, options),
  };
}

/** Parses a comma-separated broker list ("host:port,host:port"). */
export function parseBrokers(value: string): string[] {
  return value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}
