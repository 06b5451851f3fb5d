/**
 * An isolated api-analytics deployment for one test: its own topics, app id, config file and
 * state directory, real processor processes, and helpers to feed input and read results.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { IncomingRecord, KafkaAdmin } from '../../../common/kafka/index.ts';
import {
  createLeaseRepository,
  type LeaseRepository,
} from '../../../processor/coordination/lease-repository.ts';
import { createSchemaRegistryClient, type SchemaRegistryClient } from '../../../schemas/registry.ts';
import type { RequestEvent } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import type { CutUser } from '../../env/network-cut.ts';
import { testServices } from '../../env/services.ts';
import { freePort, type SluiceProcess, startSluice } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import type { InputRecord, Stats } from './reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const requestSchema = JSON.parse(readFileSync(join(repo, 'schemas', 'Request.avsc'), 'utf8'));

export type ProcessorProcess = SluiceProcess & { address: string };

export interface AnalyticsFixture {
  appId: string;
  dir: string;
  configFile: string;
  stateDir: string;
  inputTopic: string;
  outputTopic: string;
  dlqTopic: string;
  changelogTopic: string;
  admin: KafkaAdmin;
  /** Request events to the input, or to `topic` (another stream of the Request schema). */
  produce(events: readonly RequestEvent[], topic?: string): Promise<void>;
  /** The topic of one of `extraStreams`. */
  topicOf(stream: string): string;
  /** Input values already encoded (e.g. with another schema version), keyed by their tenant. */
  produceEncoded(records: readonly { key: string; value: Buffer }[]): Promise<void>;
  /** The registry the fixture and its processors use. */
  registry: SchemaRegistryClient;
  /** Records that are not Avro at all, keyed by a tenant. */
  produceGarbage(count: number, tenant: string): Promise<void>;
  /** A processor process (its HTTP address in `address`); with `slot`, a slot member with a state directory of its own. */
  startProcessor(options?: {
    name?: string;
    slot?: number;
    args?: string[];
    env?: Record<string, string>;
    /** Run as this Unix user (see test/env/network-cut.ts), with a state directory it owns. */
    user?: CutUser;
    /** Return once the output matches this (default: once /readyz answers 200). */
    readyOutput?: RegExp;
    /** The Node.js binary (default: the one running the tests). */
    node?: string;
  }): Promise<ProcessorProcess>;
  inputRecords(): Promise<InputRecord[]>;
  outputStats(): Promise<Stats[]>;
  /** The decoded records of one of `extraStreams`. */
  readStream(name: string): Promise<unknown[]>;
  deadLetters(): Promise<IncomingRecord[]>;
  /** True once the app's group has committed every input record. */
  /** Every record of the topic (the input by default; a repartition topic too) committed by the app's group. */
  caughtUp(topic?: string): Promise<boolean>;
  /** Waits until the group has committed all input. */
  waitCaughtUp(timeoutMs?: number): Promise<void>;
  /** Sends events at a steady rate in the background until all are sent or `stop` is called. */
  feed(events: readonly RequestEvent[], ratePerSecond: number, topic?: string): Feeder;
  /** The leases and members of the app (cluster mode). */
  leases: LeaseRepository;
  /** Follows the changelog: when each lease epoch first committed a record, per partition. */
  watchEpochs(): EpochWatcher;
  cleanup(): Promise<void>;
}

export interface Feeder {
  sent(): number;
  /** Resolves when every event is sent (or stop was called). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface EpochWatcher {
  /** Wall time (ms) at which a changelog record with epoch > `above` first appeared on one of `partitions`. */
  firstCommitAbove(partitions: readonly number[], above: number): number | undefined;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  partitions?: number;
  /** Run processors in slots with leases (cluster mode). */
  slots?: number;
  /** Extra cluster settings (heartbeatInterval, heartbeatMaxRetry, ...). */
  cluster?: Record<string, unknown>;
  /** Use these services instead of the shared ones (tests that restart them). */
  kafkaBrokers?: string;
  databaseUrl?: string;
  registryUrl?: string;
  /** More processor settings for the config file (e.g. repartitionPartitions). */
  processor?: Record<string, unknown>;
  /** Another app module than apps/api-analytics.ts (reading Request, writing ApiStats). */
  app?: string;
  /** More streams the app writes to, each on topic `<name lower-case>-<app id>`. */
  extraStreams?: Record<
    string,
    { schema: string; partitionKey: string; eventTime?: string; table?: boolean }
  >;
}

export async function createAnalyticsFixture(options: FixtureOptions = {}): Promise<AnalyticsFixture> {
  const services = { ...testServices() };
  if (options.kafkaBrokers) services.kafkaBrokers = options.kafkaBrokers;
  if (options.databaseUrl) services.databaseUrl = options.databaseUrl;
  if (options.registryUrl) services.schemaRegistryUrl = options.registryUrl;
  const appId = uniqueName('aa');
  const dir = mkdtempSync(join(tmpdir(), `sluice-${appId}-`));
  const stateDir = join(dir, 'state');
  const inputTopic = `requests-${appId}`;
  const outputTopic = `api-stats-${appId}`;
  const partitions = options.partitions ?? 4;
  const configFile = join(dir, 'sluice.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      kafka: { brokers: services.kafkaBrokers.split(',') },
      registry: { url: services.schemaRegistryUrl },
      streams: {
        Request: {
          topic: inputTopic,
          schema: join(repo, 'schemas', 'Request.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
          partitions,
        },
        ApiStats: {
          topic: outputTopic,
          schema: join(repo, 'schemas', 'ApiStats.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'windowStart',
          partitions,
        },
        ...Object.fromEntries(
          Object.entries(options.extraStreams ?? {}).map(([name, stream]) => [
            name,
            {
              ...stream,
              topic: `${name.toLowerCase()}-${appId}`,
              schema: join(repo, stream.schema),
              partitions,
            },
          ]),
        ),
      },
      // a killed instance's partitions move within seconds
      processor: { stateDir, sessionTimeoutMs: options.slots ? 6000 : 4000, ...options.processor },
      database: { url: services.databaseUrl },
      ...(options.slots ? { cluster: { enabled: true, slots: options.slots, ...options.cluster } } : {}),
    }),
  );
  const kafka = testKafka(services.kafkaBrokers);
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([{ topic: inputTopic, partitions }]);
  const registry = createSchemaRegistryClient(services.schemaRegistryUrl);
  const schemaId = await registry.register(`${inputTopic}-value`, requestSchema);
  const producer = await kafka.createProducer();
  const pool = new pg.Pool({ connectionString: services.databaseUrl, max: 2 });
  pool.on('error', () => undefined); // idle connections die when a test restarts Postgres
  const started: SluiceProcess[] = [];

  const decodeOrUndefined = async (value: Buffer | null) => {
    try {
      return value ? await registry.decode(value) : undefined;
    } catch {
      return undefined;
    }
  };

  const fixture: AnalyticsFixture = {
    appId,
    dir,
    configFile,
    stateDir,
    inputTopic,
    outputTopic,
    dlqTopic: `${appId}-dlq`,
    changelogTopic: `${appId}-aggregates-changelog`,
    admin,
    topicOf: (stream) => `${stream.toLowerCase()}-${appId}`,
    async produce(events, topic = inputTopic) {
      for (let i = 0; i < events.length; i += 2000) {
        const chunk = events.slice(i, i + 2000);
        const values = await Promise.all(chunk.map((event) => registry.encode(schemaId, event)));
        await producer.send(
          chunk.map((event, index) => ({
            topic,
            key: event.userTenantDomain,
            value: values[index]!,
          })),
        );
      }
    },
    async produceEncoded(records) {
      await producer.send(records.map(({ key, value }) => ({ topic: inputTopic, key, value })));
    },
    registry,
    async produceGarbage(count, tenant) {
      await producer.send(
        Array.from({ length: count }, (_, i) => ({
          topic: inputTopic,
          key: tenant,
          value: Buffer.from(`not avro ${i}`),
        })),
      );
    },
    async startProcessor({ name = 'processor', args = [], env, slot, user, readyOutput, node } = {}) {
      const port = await freePort();
      const ownStateDir = join(dir, `state-${name}`);
      if (user) {
        // another user reads the config file here and writes only below its own state directory
        chmodSync(dir, 0o755);
        mkdirSync(ownStateDir, { recursive: true });
        chownSync(ownStateDir, user.uid, user.gid);
      }
      const slotArgs = [
        ...(slot === undefined ? [] : ['--slot', String(slot)]),
        ...(slot === undefined && !user ? [] : ['--state-dir', ownStateDir]),
      ];
      const process = await startSluice(
        [
          'processor',
          '--app',
          options.app ?? join(repo, 'apps', 'api-analytics.ts'),
          '--app-id',
          appId,
          '--config',
          configFile,
          '--port',
          String(port),
          ...slotArgs,
          ...args,
        ],
        {
          name,
          env: {
            KAFKA_BROKERS: services.kafkaBrokers,
            DATABASE_URL: services.databaseUrl,
            SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
            SLUICE_ADVERTISED_ADDRESS: `http://127.0.0.1:${port}`,
            ...env,
          },
          ...(readyOutput ? { readyOutput } : { readyUrl: `http://127.0.0.1:${port}/readyz` }),
          user,
          node,
        },
      );
      started.push(process);
      return Object.assign(process, { address: `http://127.0.0.1:${port}` });
    },
    async inputRecords() {
      const records = await readAll(kafka, inputTopic);
      return Promise.all(
        records.map(async (record) => ({
          partition: record.partition,
          offset: BigInt(record.offset),
          event: (await decodeOrUndefined(record.value)) as RequestEvent | undefined,
        })),
      );
    },
    async outputStats() {
      const records = await readAll(kafka, outputTopic);
      return Promise.all(records.map(async (record) => (await registry.decode(record.value!)) as Stats));
    },
    async readStream(name) {
      const records = await readAll(kafka, `${name.toLowerCase()}-${appId}`);
      return Promise.all(records.map((record) => registry.decode(record.value!)));
    },
    deadLetters: () => readAll(kafka, `${appId}-dlq`),
    async caughtUp(topic = inputTopic) {
      const [committed, ends] = await Promise.all([
        admin.committedOffsets(appId, topic),
        admin.topicOffsets(topic),
      ]);
      return ends.every(({ partition, high }) => {
        const offset = committed.find((entry) => entry.partition === partition)?.offset ?? '-1';
        return high === '0' || offset === high;
      });
    },
    async waitCaughtUp(timeoutMs = 60_000) {
      await waitFor(`${appId} to commit all input`, () => fixture.caughtUp(), { timeoutMs, intervalMs: 250 });
    },
    feed(events, ratePerSecond, topic) {
      let stopped = false;
      let sent = 0;
      const done = (async () => {
        const startedAt = Date.now();
        while (!stopped && sent < events.length) {
          const due = Math.min(
            events.length,
            Math.floor(((Date.now() - startedAt) / 1000) * ratePerSecond) + 100,
          );
          if (due > sent) {
            await fixture.produce(events.slice(sent, due), topic);
            sent = due;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      return {
        sent: () => sent,
        done,
        async stop() {
          stopped = true;
          await done;
        },
      };
    },
    leases: createLeaseRepository(pool, 'sluice'),
    watchEpochs() {
      const seen = new Map<string, number>();
      const abort = new AbortController();
      const changelog = `${appId}-aggregates-changelog`;
      const following = kafka
        .readTopic({
          topic: changelog,
          until: 'follow',
          signal: abort.signal,
          onBatch: (records) => {
            for (const record of records) {
              const id = `${record.partition}/${record.headers['sluice.epoch']?.toString()}`;
              if (!seen.has(id)) seen.set(id, Date.now());
            }
          },
        })
        .catch(() => undefined);
      return {
        firstCommitAbove(partitions, above) {
          const times = [...seen]
            .filter(([id]) => {
              const [partition, epoch] = id.split('/').map(Number);
              return partitions.includes(partition!) && epoch! > above;
            })
            .map(([, time]) => time);
          return times.length > 0 ? Math.min(...times) : undefined;
        },
        async stop() {
          abort.abort();
          await following;
        },
      };
    },
    async cleanup() {
      await Promise.all(started.map((process) => process.stop(5000)));
      await pool.end();
      await producer.disconnect();
      await admin.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}
