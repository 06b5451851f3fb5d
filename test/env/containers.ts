/**
 * The testcontainers path, used only when a Docker engine is present (never on the build
 * machines, which have none: there the local-process path in dev/ is used). Kept small on purpose.
 */
import { existsSync } from 'node:fs';
import type { DevSettings } from '../../dev/settings.ts';

export async function hasDockerEngine(): Promise<boolean> {
  if (process.env.SLUICE_NO_DOCKER === '1') return false;
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainers(
  envVars: string[],
  settings: DevSettings,
): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const env: Record<string, string> = {};
  const stops: (() => Promise<unknown>)[] = [];

  if (envVars.includes('KAFKA_BROKERS')) {
    // fixed host port: a Kafka broker must advertise the address clients connect to
    const port = settings.kafkaPort;
    const kafka = await new GenericContainer(`apache/kafka:${settings.kafkaVersion}`)
      .withExposedPorts({ container: 9092, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    env.KAFKA_BROKERS = `127.0.0.1:${port}`;
    stops.push(() => kafka.stop());
  }
  if (envVars.includes('SCHEMA_REGISTRY_URL')) {
    const registry = await new GenericContainer(`apicurio/apicurio-registry:${settings.registryVersion}`)
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .start();
    env.SCHEMA_REGISTRY_URL = `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
    stops.push(() => registry.stop());
  }
  if (envVars.includes('DATABASE_URL')) {
    const postgres = await new GenericContainer('postgres:16')
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'sluice' })
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    env.DATABASE_URL = `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/sluice`;
    stops.push(() => postgres.stop());
  }
  return { env, stop: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}
