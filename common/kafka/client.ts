/**
 * The Kafka client of sluice: the only place that constructs kafkajs objects. It hands out
 * admin, producer, transactional-producer and consumer wrappers that speak our own types.
 */
import { Kafka, type KafkaConfig, type LogEntry, logLevel, type SASLOptions } from 'kafkajs';
import type { Logger } from '../log.ts';
import type { KafkaConnection } from './types.ts';

/** kafkajs logs retriable broker answers at ERROR; they are warnings for us, our code logs real failures. */
function logCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
      const fields = { namespace, ...rest };
      // we bound the idempotent producer's retries on purpose (producer.ts replaces it after a failure)
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(fields, `kafkajs: ${message}`);
      else if (level === logLevel.INFO) logger.debug(fields, `kafkajs: ${message}`);
      else logger.trace(fields, `kafkajs: ${message}`);
    };
}

export interface KafkaHandle {
  /** The underlying kafkajs instance, for the other files of common/kafka/ only. */
  readonly kafka: Kafka;
  readonly connection: KafkaConnection;
  readonly logger: Logger;
}

export function createKafkaHandle(connection: KafkaConnection, logger: Logger): KafkaHandle {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: connection.brokers,
    connectionTimeout: connection.connectionTimeoutMs ?? 3000,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.WARN,
    logCreator: logCreator(logger.child({ component: 'kafkajs' })),
    // short first retries: the transaction coordinator answers CONCURRENT_TRANSACTIONS for a few
    // milliseconds after each commit, and a 300 ms first backoff would stall every commit
    retry: { initialRetryTime: 25, retries: 8, maxRetryTime: 2000 },
  };
  if (connection.tls) {
    const { ca, cert, key, rejectUnauthorized } = connection.tls;
    config.ssl = { ca, cert, key, rejectUnauthorized };
  }
  if (connection.sasl) {
    config.sasl = {
      mechanism: connection.sasl.mechanism,
      username: connection.sasl.username,
      password: connection.sasl.password,
    } as SASLOptions;
  }
  return { kafka: new Kafka(config), connection, logger };
}
