/**
 * An Apicurio Registry of a test's own, for tests that stop and restart the registry without
 * disturbing the shared one. Its schemas are kept in an H2 file, so a restarted registry knows
 * the schema ids it gave out before (the default in-memory storage would forget them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryService } from '../../dev/registry-service.ts';
import type { DevService } from '../../dev/service.ts';
import { devSettings } from '../../dev/settings.ts';
import { testServices } from './services.ts';
import { freePort } from './sluice-process.ts';

export interface PrivateRegistry {
  /** The Confluent-compatible endpoint (what SCHEMA_REGISTRY_URL holds). */
  url: string;
  service: DevService;
  /** Stops the registry and removes its data. */
  destroy(): Promise<void>;
}

export async function startPrivateRegistry(): Promise<PrivateRegistry> {
  const services = testServices();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-private-registry-'));
  const service = createRegistryService({
    version: services.registryVersion,
    port: await freePort(),
    cacheDir: services.cacheDir ?? devSettings().cacheDir,
    dir,
    env: {
      // port + 1 (the service's default) may be taken: the management interface gets a free one
      QUARKUS_MANAGEMENT_PORT: String(await freePort()),
      APICURIO_STORAGE_KIND: 'sql',
      APICURIO_STORAGE_SQL_KIND: 'h2',
      APICURIO_DATASOURCE_URL: `jdbc:h2:file:${join(dir, 'registry-db')};DB_CLOSE_ON_EXIT=FALSE`,
      APICURIO_DATASOURCE_USERNAME: 'sa',
      APICURIO_DATASOURCE_PASSWORD: 'sa',
    },
  });
  await service.start(() => undefined);
  return {
    url: service.endpoint,
    service,
    async destroy() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
