/** The three local services together: what `sluice dev up|down|status` and the test harness use. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createKafkaService } from './kafka-service.ts';
import { createPostgresService } from './postgres-service.ts';
import { createRegistryService } from './registry-service.ts';
import type { DevService, ServiceStatus } from './service.ts';
import type { DevSettings } from './settings.ts';

export interface DevStack {
  services: DevService[];
  /** Downloads what is missing, without starting anything. */
  install(progress: (message: string) => void): Promise<void>;
  /** Starts what is not running; returns the names of the services it started. */
  up(progress: (message: string) => void): Promise<string[]>;
  down(): Promise<string[]>;
  status(): Promise<ServiceStatus[]>;
  /** KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL for clients of this stack. */
  env(): Record<string, string>;
}

export function createDevStack(settings: DevSettings): DevStack {
  const services = [
    createKafkaService({
      version: settings.kafkaVersion,
      port: settings.kafkaPort,
      controllerPort: settings.kafkaControllerPort,
      cacheDir: settings.cacheDir,
      dir: join(settings.runDir, 'kafka'),
    }),
    createRegistryService({
      version: settings.registryVersion,
      port: settings.registryPort,
      cacheDir: settings.cacheDir,
      dir: join(settings.runDir, 'registry'),
    }),
    createPostgresService({ port: settings.postgresPort, dir: join(settings.runDir, 'postgres') }),
  ];

  return {
    services,
    async install(progress) {
      mkdirSync(settings.cacheDir, { recursive: true });
      await Promise.all(services.map((service) => service.install(progress)));
    },
    async up(progress) {
      mkdirSync(settings.runDir, { recursive: true });
      // downloads first, one after the other (Maven's local repository is not safe to share)
      for (const service of services) await service.install(progress);
      const results = await Promise.all(services.map((service) => service.start(progress)));
      return services.filter((_, index) => results[index] === 'started').map((service) => service.name);
    },
    async down() {
      const results = await Promise.all(services.map((service) => service.stop()));
      return services.filter((_, index) => results[index] === 'stopped').map((service) => service.name);
    },
    status() {
      return Promise.all(services.map((service) => service.status()));
    },
    env() {
      return Object.fromEntries(services.map((service) => [service.envVar, service.endpoint]));
    },
  };
}
