/**
 * `sluice demo`: the whole system on one machine in one command. Local Kafka, registry and
 * PostgreSQL; two routers; two slots with an active and a standby each; a generator feeding seed
 * events through the routers (event time runs 10x faster, so 1-minute windows close every 6 s);
 * live results and slot status; Ctrl-C stops it all.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import pg from 'pg';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { devSettings } from '../../dev/settings.ts';
import { createDevStack } from '../../dev/stack.ts';
import { createLeaseRepository } from '../../processor/coordination/lease-repository.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { type DashboardState, renderDashboard, type WindowResult } from '../demo/dashboard.ts';
import { createSupervisor } from '../demo/supervisor.ts';
import { generatedEvents } from '../produce/event-source.ts';
import { routerSink } from '../produce/sinks.ts';

const repo = join(import.meta.dirname, '..', '..');
const speedup = 10;

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitReady(url: string, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    await sleep(200);
  }
  throw new Error(`${what} did not become ready at ${url}; see its log`);
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run everything locally: services, 2 routers, 2 slots x (active + standby), a generator, live results',
    )
    .option('--rate <events/s>', 'events per second from the generator', '400')
    .option('--tenants <n>', 'generated tenants', '50')
    .action(async (flags: { rate: string; tenants: string }) => {
      const say = (message: string) => process.stderr.write(`• ${message}\n`);
      const interactive = Boolean(process.stdout.isTTY);
      const stack = createDevStack(devSettings());
      const external = Boolean(
        process.env.KAFKA_BROKERS && process.env.SCHEMA_REGISTRY_URL && process.env.DATABASE_URL,
      );
      const startedServices = external ? [] : await stack.up(say);
      const local = stack.env();
      const env = {
        KAFKA_BROKERS: external ? process.env.KAFKA_BROKERS! : local.KAFKA_BROKERS!,
        SCHEMA_REGISTRY_URL: external ? process.env.SCHEMA_REGISTRY_URL! : local.SCHEMA_REGISTRY_URL!,
        DATABASE_URL: external ? process.env.DATABASE_URL! : local.DATABASE_URL!,
      };

      const id = `demo-${Date.now().toString(36)}`;
      const dir = mkdtempSync(join(tmpdir(), `sluice-${id}-`));
      const config = join(dir, 'sluice.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          kafka: { brokers: env.KAFKA_BROKERS.split(',') },
          registry: { url: env.SCHEMA_REGISTRY_URL },
          database: { url: env.DATABASE_URL },
          streams: {
            Request: {
              topic: `${id}-requests`,
              schema: join(repo, 'schemas', 'Request.avsc'),
              partitionKey: 'userTenantDomain',
              eventTime: 'requestTimestamp',
              partitions: 4,
            },
            ApiStats: {
              topic: `${id}-api-stats`,
              schema: join(repo, 'schemas', 'ApiStats.avsc'),
              partitionKey: 'userTenantDomain',
              eventTime: 'windowStart',
              partitions: 4,
            },
          },
          router: { host: '127.0.0.1', auth: { enabled: false }, rateLimit: { eventsPerSecond: 0 } },
          cluster: { enabled: true, slots: 2 },
        }),
      );
      const supervisor = createSupervisor(dir);
      const childEnv = { ...env };
      let stopping = false;
      const abort = new AbortController();
      const stopAll = async () => {
        if (stopping) return;
        stopping = true;
        abort.abort();
        say('stopping: generator, processors, routers');
        await supervisor.stopAll();
        if (startedServices.length > 0) {
          say(`stopping the services this demo started (${startedServices.join(', ')})`);
          await stack.down();
        }
        say(`stopped; logs are in ${dir}`);
        process.exit(0);
      };
      process.once('SIGINT', () => void stopAll());
      process.once('SIGTERM', () => void stopAll());

      say(`logs and config in ${dir}`);
      const routers: string[] = [];
      for (const name of ['router-a', 'router-b']) {
        const port = await freePort();
        supervisor.start(name, ['router', '--config', config, '--port', String(port)], childEnv);
        routers.push(`http://127.0.0.1:${port}`);
      }
      await Promise.all(routers.map((url) => waitReady(`${url}/readyz`, 'a router')));
      say(`routers ready: ${routers.join(', ')}`);
      const statusPages: string[] = [];
      const startProcessor = async (name: string, slot: number) => {
        const port = await freePort();
        supervisor.start(
          name,
          [
            'processor',
            '--config',
            config,
            '--app',
            join(repo, 'apps', 'api-analytics.ts'),
            '--app-id',
            id,
            '--slot',
            String(slot),
            '--port',
            String(port),
            '--state-dir',
            join(dir, `state-${name}`),
          ],
          { ...childEnv, SLUICE_ADVERTISED_ADDRESS: `http://127.0.0.1:${port}` },
        );
        statusPages.push(`http://127.0.0.1:${port}/`);
        await waitReady(`http://127.0.0.1:${port}/readyz`, name);
      };
      await Promise.all([startProcessor('slot0-a', 0), startProcessor('slot1-a', 1)]);
      await Promise.all([startProcessor('slot0-b', 0), startProcessor('slot1-b', 1)]);
      say('processors ready: 2 slots, an active and a standby each');

      const state: DashboardState = {
        accepted: 0,
        rejected: 0,
        windows: 0,
        latest: new Map(),
        leases: [],
        members: [],
        routers,
        statusPages,
      };
      const rate = Number(flags.rate);
      const sink = routerSink({ urls: routers, stream: 'Request' });
      const events = generatedEvents({
        seed: 1,
        tenants: Number(flags.tenants),
        apis: 5,
        skew: 0.5,
        startTime: Date.now(),
        stepMs: (speedup * 1000) / rate,
        jitterMs: 5000,
        invalidShare: 0,
      });
      const generator = (async () => {
        const started = Date.now();
        let sent = 0;
        while (!abort.signal.aborted) {
          const batch = Array.from({ length: 50 }, () => events.next().value!.event);
          sent += batch.length;
          const outcome = await sink
            .send(batch)
            .catch(() => ({ accepted: 0, rejected: new Map([['error', batch.length]]) }));
          state.accepted += outcome.accepted;
          state.rejected += batch.length - outcome.accepted;
          const due = started + (sent / rate) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
        }
      })();

      const kafka = createKafkaClient(
        { brokers: env.KAFKA_BROKERS.split(','), clientId: `${id}-view` },
        silentLogger(),
      );
      const registry = createSchemaRegistryClient(env.SCHEMA_REGISTRY_URL);
      void kafka
        .readTopic({
          topic: `${id}-api-stats`,
          until: 'follow',
          signal: abort.signal,
          onBatch: async (records) => {
            for (const record of records) {
              const window = (await registry.decode(record.value!)) as WindowResult;
              state.windows++;
              const list = [window, ...(state.latest.get(window.userTenantDomain) ?? [])].sort(
                (a, b) => b.windowStart - a.windowStart,
              );
              state.latest.set(window.userTenantDomain, list.slice(0, 5));
            }
          },
        })
        .catch(() => undefined);
      const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
      pool.on('error', () => undefined);
      const leases = createLeaseRepository(pool, 'sluice');
      let tick = 0;
      while (!abort.signal.aborted) {
        state.leases = await leases.leases(id).catch(() => state.leases);
        state.members = await leases.members(id).catch(() => state.members);
        if (interactive) process.stdout.write(`\x1b[2J\x1b[H${renderDashboard(state, true)}\n`);
        else if (tick % 5 === 0) {
          process.stdout.write(
            `demo: ${state.accepted} events accepted, ${state.windows} windows emitted, ${state.leases.filter((l) => l.holder).length} slots active\n`,
          );
        }
        tick++;
        await sleep(1000);
      }
      await generator;
    });
}
