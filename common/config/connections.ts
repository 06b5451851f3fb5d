/**
 * Client options for Kafka and PostgreSQL built from the loaded config and its secrets: the one
 * place that joins settings with the secret material, so every entry point connects the same way.
 */
import type { PoolConfig } from 'pg';
import type { KafkaConnection } from '../kafka/types.ts';
import type { LoadedConfig } from './load.ts';

export function kafkaConnectionOf(loaded: LoadedConfig, clientId: string): KafkaConnection {
  return {
    brokers: [...loaded.config.kafka.brokers],
    clientId,
    tls: loaded.secrets.kafka.tls,
    sasl: loaded.secrets.kafka.sasl,
  };
}

/**
 * node-postgres options: the URL, the password file and TLS files when set ($PGPASSWORD otherwise).
 * The password goes into the URL because node-postgres lets every field of `connectionString`,
 * even an absent password, override the options beside it.
 */
export function postgresPoolConfig(loaded: LoadedConfig, options: PoolConfig = {}): PoolConfig {
  const { password, tls } = loaded.secrets.database;
  let connectionString = loaded.config.database.url;
  if (password !== undefined) {
    const url = new URL(connectionString);
    url.password = encodeURIComponent(password);
    connectionString = url.toString();
  }
  return { connectionString, ...(tls ? { ssl: tls } : {}), ...options };
}
