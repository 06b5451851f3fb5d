/**
 * The container image, built from the repository's Dockerfile on the stand-in base image and run
 * with podman against the test services on the host network: `sluice --help`, a router that takes
 * events into Kafka, a processor on a volume that is SIGKILLed and restarted with exact output,
 * a non-root user, the HEALTHCHECK, and SIGTERM reaching sluice. Skipped, with the reason, only
 * where podman cannot run.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import {
  buildTestImage,
  type ComposeService,
  composeRunArgs,
  podman,
  podmanProblem,
  podmanStatus,
  removeContainers,
  type TestImage,
} from '../../env/podman.ts';
import { testServices } from '../../env/services.ts';
import { freePort } from '../../env/sluice-process.ts';
import { toolPath } from '../../env/tools.ts';
import { waitFor } from '../../env/wait.ts';
import { createAnalyticsFixture } from '../processor/fixture.ts';
import { expectedStats, sortStats } from '../processor/reference.ts';
import { postEvents } from '../router/router-fixture.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const problem = podmanProblem();
if (problem) process.stderr.write(`[image tests] skipped: ${problem}\n`);

const start = Date.UTC(2026, 0, 1, 12, 0, 0);
const requests = (seed: number, count: number): RequestEvent[] =>
  takeRequests(
    { seed, tenants: 30, apis: 4, startTime: start, stepMs: 50, jitterMs: 8_000, lateShare: 0.005 },
    count,
  );

/** The image's paths for a config written for processes on the host. */
function forContainer(config: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(config).replaceAll(join(repo, 'schemas'), '/app/schemas');
  const parsed = JSON.parse(text);
  if (parsed.processor) parsed.processor.stateDir = '/var/lib/sluice';
  return parsed;
}

async function answers200(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

describe.skipIf(problem !== undefined)(`container image${problem ? ` (skipped: ${problem})` : ''}`, () => {
  let image: TestImage;
  const containers: string[] = [];
  const volumes: string[] = [];
  const services = testServices();
  const env = [
    '-e',
    `KAFKA_BROKERS=${services.kafkaBrokers}`,
    '-e',
    `SCHEMA_REGISTRY_URL=${services.schemaRegistryUrl}`,
    '-e',
    `DATABASE_URL=${services.databaseUrl}`,
  ];

  /** `podman run -d` on the host network; returns the container's name. */
  const run = (name: string, mounts: string[], extra: string[], args: string[]) => {
    containers.push(name);
    podman([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      ...env,
      ...mounts,
      ...extra,
      image.name,
      ...args,
    ]);
    return name;
  };
  const logs = (name: string) => podmanStatus(['logs', name]).output;
  const exitCode = (name: string) =>
    Number(podman(['inspect', '--format', '{{.State.ExitCode}}', name]).trim());

  /** Why the image's node cannot load the RocksDB binding, or undefined when it can. */

  beforeAll(async () => {
    image = await buildTestImage();
    process.stderr.write(
      `[image tests] ${image.name}: ${(image.sizeBytes / 1e6).toFixed(0)} MB, built in ${image.buildSeconds.toFixed(0)} s\n`,
    );
  }, 30 * 60_000);

  afterAll(() => removeContainers(containers, volumes));

  it('runs `sluice --help` as uid 1000, not root', () => {
    expect(podman(['run', '--rm', image.name, '--help'])).toMatch(/Usage: sluice/);
    expect(podman(['image', 'inspect', '--format', '{{.Config.User}}', image.name]).trim()).toBe('1000:1000');
    expect(podman(['run', '--rm', '--entrypoint', 'id', image.name, '-u']).trim()).toBe('1000');
  });

  it('runs a router: ready, events into Kafka, healthy, and a clean exit 0 on SIGTERM', async () => {
    const topic = uniqueName('requests');
    const configFile = join(mkdtempSync(join(tmpdir(), 'sluice-image-')), 'sluice.yaml');
    writeFileSync(
      configFile,
      JSON.stringify(
        forContainer({
          streams: {
            Request: {
              topic,
              schema: join(repo, 'schemas', 'Request.avsc'),
              partitionKey: 'userTenantDomain',
              eventTime: 'requestTimestamp',
              partitions: 3,
            },
          },
          router: { auth: { enabled: false } },
        }),
      ),
    );
    const port = await freePort();
    const started = performance.now();
    const name = run(
      uniqueName('sluice-router'),
      ['-v', `${configFile}:/etc/sluice/sluice.yaml:ro`],
      ['-e', `SLUICE_HEALTH_PORT=${port}`],
      ['router', '--port', String(port), '--host', '127.0.0.1'],
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the router container to answer /readyz', () => answers200(`${url}/readyz`), {
      timeoutMs: 60_000,
      describe: () => logs(name).slice(-2000),
    });
    process.stderr.write(
      `[image tests] router ready ${((performance.now() - started) / 1000).toFixed(1)} s after podman run\n`,
    );

    const events = requests(3, 50);
    const response = await postEvents(url, events);
    expect(response.status).toBe(202);
    const records = await readAll(testKafka(services.kafkaBrokers), topic);
    expect(records.map((record) => record.key?.toString()).sort()).toEqual(
      events.map((event) => event.userTenantDomain).sort(),
    );

    expect(podmanStatus(['healthcheck', 'run', name])).toMatchObject({ status: 0 });

    // podman stop sends SIGTERM and SIGKILLs after the timeout: exit 0 means sluice stopped itself
    podman(['stop', '--time', '30', name], { timeoutMs: 45_000 });
    expect(exitCode(name), logs(name).slice(-2000)).toBe(0);
  });

  it("starts the compose stack's router from the image, with the compose file's env, volumes and command", async () => {
    const port = await freePort();
    const suffix = uniqueName('compose');
    const configFile = join(mkdtempSync(join(tmpdir(), 'sluice-compose-')), 'sluice.yaml');
    // the stack's own config with topics of this test's own
    writeFileSync(
      configFile,
      readFileSync(join(repo, 'compose', 'sluice.yaml'), 'utf8').replace(
        /topic: (\S+)/g,
        `topic: $1-${suffix}`,
      ),
    );
    const config = parse(
      execFileSync(
        toolPath('docker-compose'),
        ['-f', 'compose/docker-compose.yml', '-f', 'test/compose/host-services.yml', 'config'],
        {
          cwd: repo,
          encoding: 'utf8',
          env: {
            ...process.env,
            SLUICE_IMAGE: image.name,
            KAFKA_BROKERS: services.kafkaBrokers,
            SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
            DATABASE_URL: services.databaseUrl,
            SLUICE_TEST_ROUTER_PORT: String(port),
            SLUICE_TEST_CONFIG: configFile,
          },
        },
      ),
    );
    const router: ComposeService = config.services['router-a'];
    const name = uniqueName('sluice-compose-router-a');
    containers.push(name);
    podman(composeRunArgs(name, router));
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the compose router to answer /readyz', () => answers200(`${url}/readyz`), {
      timeoutMs: 60_000,
      describe: () => logs(name).slice(-2000),
    });
    // the compose file turns auth off for trying sluice out: events go through without a key
    const events = requests(5, 20);
    expect((await postEvents(url, events)).status).toBe(202);
    const records = await readAll(testKafka(services.kafkaBrokers), `requests-${suffix}`);
    expect(records).toHaveLength(events.length);
    expect(podmanStatus(['healthcheck', 'run', name])).toMatchObject({ status: 0 });
    podman(['stop', '--time', '30', name], { timeoutMs: 45_000 });
    expect(exitCode(name), logs(name).slice(-2000)).toBe(0);
  });

  it('runs a processor on a volume: SIGKILLed, restarted on the same volume, output exact', async () => {
    const fixture = await createAnalyticsFixture({ partitions: 4 });
    try {
      const configFile = join(fixture.dir, 'container.yaml');
      writeFileSync(
        configFile,
        JSON.stringify(forContainer(JSON.parse(readFileSync(fixture.configFile, 'utf8')))),
      );
      const volume = uniqueName('sluice-state');
      volumes.push(volume);
      podman(['volume', 'create', volume]);
      const startProcessor = async (label: string) => {
        const port = await freePort();
        const name = run(
          uniqueName(`sluice-processor-${label}`),
          ['-v', `${configFile}:/etc/sluice/sluice.yaml:ro`, '-v', `${volume}:/var/lib/sluice`],
          ['-e', `SLUICE_HEALTH_PORT=${port}`],
          [
            'processor',
            '--app',
            '/app/apps/api-analytics.ts',
            '--app-id',
            fixture.appId,
            '--port',
            String(port),
          ],
        );
        await waitFor(
          `processor container ${label} to answer /readyz`,
          () => answers200(`http://127.0.0.1:${port}/readyz`),
          {
            timeoutMs: 90_000,
            describe: () => logs(name).slice(-2000),
          },
        );
        return name;
      };

      const input = requests(17, 8000);
      await fixture.produce(input.slice(0, 4000));
      const first = await startProcessor('first');
      await fixture.waitCaughtUp();
      await fixture.produce(input.slice(4000));
      podman(['kill', '--signal', 'KILL', first]);
      expect(exitCode(first)).toBe(137);

      const second = await startProcessor('second');
      await fixture.waitCaughtUp();
      const expected = expectedStats(await fixture.inputRecords());
      expect(expected.stats.length).toBeGreaterThan(100);
      expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);

      podman(['stop', '--time', '30', second], { timeoutMs: 45_000 });
      expect(exitCode(second), logs(second).slice(-2000)).toBe(0);
    } finally {
      await fixture.cleanup();
    }
  }, 300_000);
});
