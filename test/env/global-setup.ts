/**
 * Vitest global setup: finds or starts Kafka, the schema registry and PostgreSQL once per run.
 * Each service comes from its environment variable (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 * DATABASE_URL) when set, else from testcontainers when a Docker engine is present, else from
 * local processes that the project starts itself (dev/). It prints the versions it runs against.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { devSettings } from '../../dev/settings.ts';
import { createDevStack } from '../../dev/stack.ts';
import { hasDockerEngine, startContainers } from './containers.ts';
import type { TestServices } from './services.ts';

const log = (message: string) => process.stderr.write(`[services] ${message}\n`);

async function registryVersion(url: string): Promise<string> {
  try {
    const base = url.replace(/\/apis\/ccompat\/v7\/?$/, '');
    const response = await fetch(`${base}/apis/registry/v3/system/info`, {
      signal: AbortSignal.timeout(5000),
    });
    const info = (await response.json()) as { name?: string; version?: string };
    return info.version ?? 'unknown';
  } catch {
    return 'unknown (not Apicurio)';
  }
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version.split(' ')[0] ?? 'unknown';
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject) {
  // ports handed to test files are reserved here for the run (see freePort): workers inherit it
  const portsDir = mkdtempSync(join(tmpdir(), 'sluice-test-ports-'));
  process.env.SLUICE_TEST_PORTS_DIR = portsDir;
  const settings = devSettings();
  const stack = createDevStack(settings);
  const fromEnv = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
    DATABASE_URL: process.env.DATABASE_URL,
  };
  const missing = stack.services.filter((service) => !fromEnv[service.envVar as keyof typeof fromEnv]);
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(fromEnv).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
  let source = missing.length === 0 ? 'environment' : 'local processes';
  let kafkaVersion = missing.some((s) => s.name === 'kafka')
    ? settings.kafkaVersion
    : (process.env.KAFKA_VERSION ?? 'external');
  const started: typeof missing = [];
  let stopContainers: (() => Promise<void>) | undefined;

  if (missing.length > 0 && (await hasDockerEngine())) {
    source = 'testcontainers';
    const containers = await startContainers(
      missing.map((service) => service.envVar),
      settings,
    );
    Object.assign(env, containers.env);
    stopContainers = containers.stop;
  } else {
    for (const service of missing) await service.install(log);
    const results = await Promise.allSettled(missing.map((service) => service.start(log)));
    missing.forEach((service, index) => {
      env[service.envVar] = service.endpoint;
      if (results[index]?.status === 'fulfilled' && results[index].value === 'started') started.push(service);
    });
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      // leave nothing behind that this run started
      await Promise.all(started.map((service) => service.stop()));
      throw failure.reason;
    }
  }
  if (source === 'environment') kafkaVersion = process.env.KAFKA_VERSION ?? 'external';

  const services: TestServices = {
    kafkaBrokers: env.KAFKA_BROKERS!,
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL!,
    databaseUrl: env.DATABASE_URL!,
    kafkaVersion,
    registryVersion: await registryVersion(env.SCHEMA_REGISTRY_URL!),
    postgresVersion: await postgresVersion(env.DATABASE_URL!),
    source,
    cacheDir: source === 'local processes' ? settings.cacheDir : undefined,
    kafkaVersionForPrivateBrokers: settings.kafkaVersion,
  };
  project.provide('services', services);
  log(
    `Kafka ${services.kafkaVersion} at ${services.kafkaBrokers} · Apicurio Registry ${services.registryVersion} at ` +
      `${services.schemaRegistryUrl} · PostgreSQL ${services.postgresVersion} (${services.source})`,
  );

  return async () => {
    rmSync(portsDir, { recursive: true, force: true });
    await stopContainers?.();
    // only what this run started: services a developer brought up with `sluice dev up` stay up
    await Promise.all(started.map((service) => service.stop()));
  };
}
