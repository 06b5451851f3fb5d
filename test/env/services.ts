/**
 * The services a test run uses, as the global setup found or started them. Test files read
 * them with `testServices()`; the values come from vitest's provide/inject.
 */
import { inject } from 'vitest';

export interface TestServices {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  databaseUrl: string;
  kafkaVersion: string;
  registryVersion: string;
  postgresVersion: string;
  /** 'local processes', 'environment' or 'testcontainers' */
  source: string;
  /** Set when this run started the services itself, so tests may start private brokers beside them. */
  cacheDir?: string;
  kafkaVersionForPrivateBrokers: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
  }
}

export function testServices(): TestServices {
  return inject('services');
}
