/** A router deployment of a test's own: config with a unique topic, router processes, readers. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKey } from '../../../common/auth/keys-file.ts';
import type { IncomingRecord } from '../../../common/kafka/index.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';
import { freePort, type SluiceProcess, startSluice } from '../../env/sluice-process.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');

export interface RouterFixture {
  topic: string;
  dir: string;
  configFile: string;
  kafkaBrokers: string;
  keysFile: string;
  /** Creates an API key for a tenant in this fixture's keys file. */
  createKey(tenant: string): string;
  startRouter(options?: {
    name?: string;
    env?: Record<string, string>;
    /** Ready once it listens, even if /readyz says not ready (e.g. the registry is down). */
    readyWhenListening?: boolean;
  }): Promise<SluiceProcess & { url: string }>;
  records(): Promise<IncomingRecord[]>;
  cleanup(): Promise<void>;
}

export async function createRouterFixture(
  options: {
    partitions?: number;
    router?: Record<string, unknown>;
    kafkaBrokers?: string;
    registryUrl?: string;
  } = {},
): Promise<RouterFixture> {
  const services = testServices();
  const kafkaBrokers = options.kafkaBrokers ?? services.kafkaBrokers;
  const topic = uniqueName('requests');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-router-'));
  const configFile = join(dir, 'sluice.yaml');
  const keysFile = join(dir, 'api-keys.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      kafka: { brokers: kafkaBrokers.split(',') },
      registry: { url: options.registryUrl ?? services.schemaRegistryUrl },
      streams: {
        Request: {
          topic,
          schema: join(repo, 'schemas', 'Request.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
          partitions: options.partitions ?? 6,
        },
      },
      router: { auth: { enabled: false, keysFile }, ...options.router },
    }),
  );
  const started: SluiceProcess[] = [];
  return {
    topic,
    dir,
    configFile,
    kafkaBrokers,
    keysFile,
    createKey: (tenant) => createKey(keysFile, { role: 'tenant', tenant }).key,
    async startRouter({ name = 'router', env, readyWhenListening = false } = {}) {
      const port = await freePort();
      const process = await startSluice(
        ['router', '--config', configFile, '--port', String(port), '--host', '127.0.0.1'],
        {
          name,
          // SCHEMA_REGISTRY_URL would override the config file's registry
          env: {
            KAFKA_BROKERS: kafkaBrokers,
            // the test environment runs one worker unless the configuration asks for more
            ...(options.router?.workers ? { SLUICE_ROUTER_WORKERS: String(options.router.workers) } : {}),
            ...(options.registryUrl ? { SCHEMA_REGISTRY_URL: options.registryUrl } : {}),
            ...env,
          },
          ...(readyWhenListening
            ? { readyOutput: /router listening/ }
            : { readyUrl: `http://127.0.0.1:${port}/readyz` }),
        },
      );
      started.push(process);
      return Object.assign(process, { url: `http://127.0.0.1:${port}` });
    },
    records: () => readAll(testKafka(kafkaBrokers), topic),
    async cleanup() {
      await Promise.all(started.map((process) => process.stop(5000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function postEvents(
  url: string,
  body: string | unknown,
  options: { contentType?: string; headers?: Record<string, string>; stream?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${url}/v1/streams/${options.stream ?? 'Request'}/events`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json', ...options.headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
