/**
 * The services a benchmark runs against: the variables when set, else the local dev services
 * (started if they are not running). Benchmarks never run inside the test suite.
 */

import { devSettings } from '../../dev/settings.ts';
import { createDevStack } from '../../dev/stack.ts';

export interface BenchServices {
  brokers: string;
  registryUrl: string;
  databaseUrl: string;
  kafkaVersion: string;
}

export async function benchServices(): Promise<BenchServices> {
  const settings = devSettings();
  if (!process.env.KAFKA_BROKERS || !process.env.SCHEMA_REGISTRY_URL || !process.env.DATABASE_URL) {
    await createDevStack(settings).up((message) => process.stderr.write(`• ${message}\n`));
  }
  const env = createDevStack(settings).env();
  return {
    brokers: process.env.KAFKA_BROKERS ?? env.KAFKA_BROKERS!,
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? env.SCHEMA_REGISTRY_URL!,
    databaseUrl: process.env.DATABASE_URL ?? env.DATABASE_URL!,
    kafkaVersion: process.env.KAFKA_BROKERS
      ? (process.env.KAFKA_VERSION ?? 'external')
      : settings.kafkaVersion,
  };
}
