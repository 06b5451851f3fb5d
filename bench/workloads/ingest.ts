/**
 * W-ingest: events/s and request latency through one router (HTTP → validate → Avro → Kafka,
 * acks=all), with a worker process per core and with one worker (the default), against a plain kafkajs producer sending the same events, already encoded, straight
 * to the broker: same concurrency, same events per request. The plain producer runs twice: stock
 * kafkajs 2.2.4 (what a user has without sluice), and kafkajs with sluice's patches (what the
 * router itself sends with, so that ratio is the router's own overhead). Both counts are checked from topic
 * offsets before a figure is reported. The load generator shares the 2 cores with what it
 * measures, for both engines alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import * as patchedKafkajs from 'kafkajs';
import * as stockKafkajs from 'kafkajs-stock';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { takeRequests } from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';
import type { BenchContext } from '../lib/context.ts';
import { requestSchema } from '../lib/prefill.ts';
import { processStats } from '../lib/process-stats.ts';
import { type BenchResult, comparableRatio } from '../lib/results.ts';
import { median, percentile } from '../lib/stats.ts';
import { brokerLimit } from './broker.ts';

const repo = join(import.meta.dirname, '..', '..');
const concurrency = 32;
const eventsPerRequest = 100;

interface RunFigures {
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the sending side during the run: the router's processes, or this process for the raw producer. */
  cpuSeconds: number;
  /**
   * The router runs only: CPU of the HTTP client (this process) in the run. It shares the cores with
   * the router; the raw producer has no such client.
   */
  clientCpuSeconds?: number;
  /** The router's peak RSS, summed over its processes; undefined for the raw producer (it lives in the bench process). */
  peakRssMb?: number;
}

async function topicCount(brokers: string, topic: string): Promise<number> {
  const admin = await createKafkaClient(
    { brokers: brokers.split(','), clientId: 'bench' },
    silentLogger(),
  ).connectAdmin();
  const offsets = await admin.topicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((sum, entry) => sum + Number(entry.high), 0);
}

/** Runs `send` for every item with `concurrency` in flight; per-item latency and total time. */
async function drive<T>(
  items: readonly T[],
  send: (item: T) => Promise<void>,
): Promise<{ seconds: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const t = performance.now();
        await send(item);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

/** The router's processes: the primary and its descendants (workers; tsx's esbuild in a checkout). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    // gone
  }
  return [pid, ...children.flatMap(processTree)];
}

/** CPU of the whole tree; peak RSS summed over its processes (each one's own peak: an upper bound). */
function treeStats(pid: number) {
  const stats = processTree(pid).map(processStats);
  return {
    cpuSeconds: stats.reduce((sum, entry) => sum + (entry?.cpuSeconds ?? 0), 0),
    peakRssMb: stats.reduce((sum, entry) => sum + (entry?.peakRssMb ?? 0), 0),
  };
}

async function startRouterProcess(context: BenchContext, topic: string, workers: number) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-router-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const config = join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { brokers: context.services.brokers.split(',') },
      registry: { url: context.services.registryUrl },
      log: { level: 'warn' },
      streams: {
        Request: {
          topic,
          schema: join(repo, 'schemas', 'Request.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
          partitions: 6,
        },
      },
      router: {
        host: '127.0.0.1',
        port,
        workers,
        auth: { enabled: false },
        rateLimit: { eventsPerSecond: 0 },
      },
    }),
  );
  const child = spawn(process.execPath, [join(repo, 'bin', 'sluice.js'), 'router', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready)
      return {
        url,
        pid: child.pid!,
        stop: () =>
          new Promise((resolve) => {
            child.once('exit', () => {
              rmSync(dir, { recursive: true, force: true });
              resolve(undefined);
            });
            child.kill('SIGTERM');
          }),
      };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the router did not become ready');
}

async function routerRun(
  context: BenchContext,
  bodies: string[],
  total: number,
  topic: string,
  workers: number,
): Promise<RunFigures> {
  const router = await startRouterProcess(context, topic, workers);
  try {
    // the workers' CPU before the run: start-up is not part of it
    const before = treeStats(router.pid);
    const clientCpu = process.cpuUsage();
    const { seconds, latencies } = await drive(bodies, async (body) => {
      const response = await fetch(`${router.url}/v1/streams/Request/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`router answered ${response.status}`);
    });
    const after = treeStats(router.pid);
    const client = process.cpuUsage(clientCpu);
    const count = await topicCount(context.services.brokers, topic);
    if (count !== total) throw new Error(`router run: ${count} records in ${topic}, expected ${total}`);
    return {
      eventsPerSecond: total / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssMb: after.peakRssMb,
      clientCpuSeconds: (client.user + client.system) / 1e6,
    };
  } finally {
    await router.stop();
  }
}

type KafkajsModule = typeof patchedKafkajs;
const peers = { stock: stockKafkajs as unknown as KafkajsModule, patched: patchedKafkajs };

async function rawRun(
  context: BenchContext,
  kafkajs: KafkajsModule,
  batches: { key: string; value: Buffer }[][],
  total: number,
  topic: string,
): Promise<RunFigures> {
  const { CompressionTypes, Kafka, logLevel, Partitioners } = kafkajs;
  const kafka = new Kafka({
    brokers: context.services.brokers.split(','),
    clientId: 'bench-raw',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const cpuBefore = process.cpuUsage();
    const { seconds, latencies } = await drive(batches, async (messages) => {
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
    });
    const cpu = process.cpuUsage(cpuBefore);
    const count = await topicCount(context.services.brokers, topic);
    if (count !== total) throw new Error(`raw run: ${count} records in ${topic}, expected ${total}`);
    return {
      eventsPerSecond: total / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    await producer.disconnect();
  }
}

export async function ingestWorkload(context: BenchContext): Promise<BenchResult[]> {
  const total = context.quick ? 50_000 : 200_000;
  const runs = context.quick ? 1 : 3;
  const events = takeRequests(
    { seed: 42, tenants: 1000, apis: 20, startTime: Date.UTC(2026, 0, 1), stepMs: 5 },
    total,
  );
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += eventsPerRequest)
    bodies.push(JSON.stringify(events.slice(i, i + eventsPerRequest)));
  const id = await createSchemaRegistryClient(context.services.registryUrl).register(
    'bench-ingest-value',
    requestSchema,
  );
  const encode = createSerde(context.services.registryUrl).encoderFor(id, avro.Type.forSchema(requestSchema));
  const batches: { key: string; value: Buffer }[][] = [];
  for (let i = 0; i < events.length; i += eventsPerRequest) {
    batches.push(
      events
        .slice(i, i + eventsPerRequest)
        .map((event) => ({ key: event.userTenantDomain, value: encode(event) })),
    );
  }

  const stamp = Date.now().toString(36);
  // the router with a worker per core, and with one worker (the default, and what it was before workers)
  const workers = availableParallelism();
  const routers = { all: workers, one: 1 };
  context.log(`ingest: warm-up`);
  for (const [name, count] of Object.entries(routers))
    await routerRun(context, bodies.slice(0, 50), 5000, `bench-ingest-warm-r${name}-${stamp}`, count);
  for (const [name, kafkajs] of Object.entries(peers))
    await rawRun(context, kafkajs, batches.slice(0, 50), 5000, `bench-ingest-warm-${name}-${stamp}`);
  const routed: Record<keyof typeof routers, RunFigures[]> = { all: [], one: [] };
  const raw: Record<keyof typeof peers, RunFigures[]> = { stock: [], patched: [] };
  for (let run = 0; run < runs; run++) {
    context.log(
      `ingest: run ${run + 1}/${runs} (${total} events, ${concurrency} concurrent requests of ${eventsPerRequest})`,
    );
    // the order alternates: the routers first in one round, last in the next
    const steps: (() => Promise<void>)[] = [
      ...Object.entries(routers).map(([name, count]) => async () => {
        await context.gate(`ingest router (${count} worker(s)) run ${run + 1}`);
        routed[name as keyof typeof routers].push(
          await routerRun(context, bodies, total, `bench-ingest-r${name}-${stamp}-${run}`, count),
        );
      }),
      ...Object.entries(peers).map(([name, kafkajs]) => async () => {
        await context.gate(`ingest ${name} kafkajs run ${run + 1}`);
        raw[name as keyof typeof peers].push(
          await rawRun(context, kafkajs, batches, total, `bench-ingest-${name}-${stamp}-${run}`),
        );
      }),
    ];
    for (const step of run % 2 === 0 ? steps : steps.reverse()) await step();
  }
  const router = routed.all;
  const routerRate = median(router.map((r) => r.eventsPerSecond));
  const rawRate = median(raw.stock.map((r) => r.eventsPerSecond));
  const limit = await brokerLimit(context);
  const summary = (figures: RunFigures[]) => ({
    perRun: figures.map((r) => Math.round(r.eventsPerSecond)),
    cpuSecondsPerMillion: figures.map((r) => Math.round((r.cpuSeconds / total) * 1e6)),
    clientCpuSecondsPerMillion: figures.map((r) =>
      r.clientCpuSeconds === undefined ? undefined : Math.round((r.clientCpuSeconds / total) * 1e6),
    ),
    p50Ms: median(figures.map((r) => r.p50Ms)),
    p99Ms: median(figures.map((r) => r.p99Ms)),
  });
  const resources = (figures: RunFigures[]) => ({
    cpuSecondsPerMillion: Math.round(median(figures.map((r) => (r.cpuSeconds / total) * 1e6))),
    peakRssMb: figures.every((r) => r.peakRssMb !== undefined)
      ? Math.round(median(figures.map((r) => r.peakRssMb!)))
      : undefined,
  });
  const versus = (name: keyof typeof peers, peer: string, routerName: keyof typeof routers = 'all') => {
    const peerRate = median(raw[name].map((r) => r.eventsPerSecond));
    const router = routed[routerName];
    const routerRate = median(router.map((r) => r.eventsPerSecond));
    return {
      workload:
        routerName === 'all'
          ? `ingest: router (${workers} workers) vs raw kafkajs producer`
          : 'ingest: router (1 worker) vs raw kafkajs producer',
      unit: 'events/s',
      sluice: routerRate,
      peer,
      peerFigure: peerRate,
      ratio: comparableRatio(routerRate / peerRate, { quick: context.quick }).ratio,
      resources: { sluice: resources(router), peer: resources(raw[name]) },
      details: {
        events: total,
        concurrency,
        eventsPerRequest,
        runs,
        routerWorkers: routers[routerName],
        router: summary(router),
        raw: summary(raw[name]),
        verified: 'record counts from topic offsets equal the events sent, every run',
      },
    };
  };
  return [
    {
      workload: 'ingest, broker limit: router vs kafka-producer-perf-test',
      unit: 'events/s',
      sluice: routerRate,
      peer: `kafka-producer-perf-test (acks=all, ${limit.recordSize} B)`,
      peerFigure: limit.producerRecordsPerSecond,
      ratio: comparableRatio(routerRate / limit.producerRecordsPerSecond, { quick: context.quick }).ratio,
      details: {
        consumerPerfTestRecordsPerSecond: limit.consumerRecordsPerSecond,
        rawKafkajsOverPerfTest: rawRate / limit.producerRecordsPerSecond,
      },
    },
    versus('stock', 'kafkajs 2.2.4 producer (idempotent, acks=all)'),
    versus('patched', "kafkajs with sluice's patches (the router's own client)"),
    versus('patched', "kafkajs with sluice's patches (the router's own client)", 'one'),
  ];
}
