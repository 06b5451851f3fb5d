/**
 * Where the local services come from and where they run. Every value can be changed by an
 * environment variable, listed in the README's "Local services" section.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '../common/errors.ts';

export interface DevSettings {
  /** Downloads (Kafka jars, Apicurio archive), kept between runs, outside the repository. */
  cacheDir: string;
  /** Data, logs and pid files of the running services. */
  runDir: string;
  /** @default '4.4.0', the newest Kafka 4.x on Maven Central that kafkajs works with */
  kafkaVersion: string;
  /** @default '3.3.3' (needs Java 21+; '3.0.9' runs on Java 17) */
  registryVersion: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  postgresPort: number;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new SluiceError('CONFIG_INVALID', `${name}=${raw} is not a TCP port (1-65535)`);
  }
  return value;
}

export function devSettings(env: NodeJS.ProcessEnv = process.env): DevSettings {
  return {
    cacheDir: env.SLUICE_CACHE_DIR || join(homedir(), '.cache', 'sluice'),
    runDir: env.SLUICE_DEV_DIR || '/tmp/sluice-dev',
    kafkaVersion: env.SLUICE_KAFKA_VERSION || '4.4.0',
    registryVersion: env.SLUICE_REGISTRY_VERSION || '3.3.3',
    kafkaPort: port(env, 'SLUICE_DEV_KAFKA_PORT', 19092),
    kafkaControllerPort: port(env, 'SLUICE_DEV_KAFKA_CONTROLLER_PORT', 19093),
    registryPort: port(env, 'SLUICE_DEV_REGISTRY_PORT', 18081),
    postgresPort: port(env, 'SLUICE_DEV_POSTGRES_PORT', 15432),
  };
}
