/**
 * A Kafka broker of a test's own, for tests that stop and restart the broker without
 * disturbing the shared one. Started from the same cached jars as the shared broker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaService } from '../../dev/kafka-service.ts';
import type { DevService } from '../../dev/service.ts';
import { devSettings } from '../../dev/settings.ts';
import { testServices } from './services.ts';
import { freePort } from './sluice-process.ts';

export interface PrivateKafka {
  brokers: string;
  service: DevService;
  /** Stops the broker and removes its data. */
  destroy(): Promise<void>;
}

/** `properties`: extra broker settings (e.g. a production-like group.initial.rebalance.delay.ms). */
export async function startPrivateKafka(properties?: Record<string, string>): Promise<PrivateKafka> {
  const services = testServices();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-private-kafka-'));
  const service = createKafkaService({
    version: services.kafkaVersionForPrivateBrokers,
    port: await freePort(),
    controllerPort: await freePort(),
    cacheDir: services.cacheDir ?? devSettings().cacheDir,
    dir,
    properties,
  });
  await service.start(() => undefined);
  return {
    brokers: service.endpoint,
    service,
    async destroy() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
