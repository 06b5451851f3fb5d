/**
 * W5: SIGKILL of an active processor under steady load; the figure is the time from the kill to
 * the first output record committed by whoever took over (offsets past the output's end at the
 * kill). sluice: keyed-count in one slot (active + warm standby) with the default lease settings,
 * and again with the seed's (5000 ms x 5 heartbeats); Kafka Streams: two instances with one
 * standby replica and its default settings (45 s session timeout).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import pg from 'pg';
import { createKafkaClient, type KafkaClient, partitionForKey } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createLeaseRepository } from '../../processor/coordination/lease-repository.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { generateRequests } from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensurePeerJar, peerEvents, spawnPeer } from '../lib/peer.ts';
import { requestSchema } from '../lib/prefill.ts';
import type { BenchResult } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  type RunningProcess,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { median } from '../lib/stats.ts';

const partitions = 4;
const rate = 2000;

/** Steady input at `rate` events/s until stopped. */
async function startFeed(context: BenchContext, kafka: KafkaClient, topic: string) {
  const id = await createSchemaRegistryClient(context.services.registryUrl).register(
    `${topic}-value`,
    requestSchema,
  );
  const encode = createSerde(context.services.registryUrl).encoderFor(id, avro.Type.forSchema(requestSchema));
  const producer = await kafka.createProducer();
  const events = generateRequests({
    seed: 5,
    tenants: 1000,
    apis: 5,
    startTime: Date.now(),
    stepMs: 1000 / rate,
  });
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: rate / 10 }, () => events.next().value!);
      await producer
        .send(
          batch.map((e) => ({
            topic,
            key: e.userTenantDomain,
            value: encode(e),
            partition: partitionForKey(e.userTenantDomain, partitions),
          })),
        )
        .catch(() => undefined);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await producer.disconnect();
    },
  };
}

/** Kills `victim` and returns ms until an output record appears past the output's end at the kill. */
async function killAndTime(
  kafka: KafkaClient,
  output: string,
  watched: readonly number[],
  victim: RunningProcess,
): Promise<number> {
  // kill first: a record appended after this point and committed can only come from the successor
  // (the victim's in-flight writes stay uncommitted and are aborted when it is fenced)
  const admin = await kafka.connectAdmin();
  const killedAt = Date.now();
  await victim.kill();
  const ends = new Map((await admin.topicOffsets(output)).map((entry) => [entry.partition, entry.high]));
  await admin.disconnect();
  const abort = new AbortController();
  let takeover: number | undefined;
  const following = kafka.readTopic({
    topic: output,
    partitions: watched,
    from: ends,
    until: 'follow',
    signal: abort.signal,
    onBatch: (records) => {
      if (records.length > 0 && takeover === undefined) {
        takeover = Date.now();
        abort.abort();
      }
    },
  });
  const deadline = killedAt + 180_000;
  while (takeover === undefined && Date.now() < deadline) await sleep(50);
  abort.abort();
  await following;
  if (takeover === undefined) throw new Error('no output after the kill within 180 s');
  return takeover - killedAt;
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error(`processor on ${port} not ready`);
}

async function sluiceFailover(
  context: BenchContext,
  kafka: KafkaClient,
  cluster: Record<string, number>,
  label: string,
): Promise<number> {
  const id = `bench-fo-${label}-${Date.now().toString(36)}`;
  const deployment = benchDeployment(context.services, {
    app: apps.keyedCount,
    appId: id,
    inputTopic: `${id}-in`,
    outputTopic: `${id}-out`,
    partitions,
    cluster: { slots: 1, ...cluster },
  });
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([
    { topic: `${id}-in`, partitions },
    { topic: `${id}-out`, partitions },
  ]);
  await admin.disconnect();
  const feed = await startFeed(context, kafka, `${id}-in`);
  const ports = [40_000 + Math.floor(Math.random() * 10_000), 50_000 + Math.floor(Math.random() * 10_000)];
  const processes = ports.map((port, i) =>
    spawnSluiceProcessor(deployment, { stateDir: `${deployment.dir}/state-${i}`, slot: 0, port }),
  );
  const pool = new pg.Pool({ connectionString: context.services.databaseUrl, max: 1 });
  try {
    await Promise.all(ports.map(waitReady));
    await sleep(5000); // steady state: the standby follows the changelog
    const lease = (await createLeaseRepository(pool, 'sluice').leases(id))[0];
    const victim = processes.find((p) => lease?.holder?.includes(`-${p.child.pid}-`));
    if (!victim) throw new Error('no active found in the lease table');
    return await killAndTime(kafka, `${id}-out`, [...Array(partitions).keys()], victim);
  } finally {
    await feed.stop();
    await Promise.all(processes.map((p) => p.stop()));
    await pool.end();
  }
}

async function streamsFailover(context: BenchContext, kafka: KafkaClient): Promise<number> {
  const id = `bench-fo-ks-${Date.now().toString(36)}`;
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([
    { topic: `${id}-in`, partitions },
    { topic: `${id}-out`, partitions },
  ]);
  await admin.disconnect();
  const feed = await startFeed(context, kafka, `${id}-in`);
  const peers = [0, 1].map((i) =>
    spawnPeer('count', {
      bootstrap: context.services.brokers,
      'application-id': id,
      input: `${id}-in`,
      output: `${id}-out`,
      'state-dir': `/tmp/${id}-${i}`,
      'standby-replicas': 1,
      guarantee: 'exactly_once_v2',
    }),
  );
  try {
    const owned = (peer: RunningProcess) => {
      const running = peerEvents(peer).filter((event) => event.event === 'running');
      return (running.at(-1)?.partitions as number[] | undefined) ?? [];
    };
    for (let i = 0; i < 1200 && peers.some((peer) => owned(peer).length === 0); i++) await sleep(100);
    await sleep(5000);
    const victim = peers.reduce((a, b) => (owned(a).length >= owned(b).length ? a : b));
    return await killAndTime(kafka, `${id}-out`, owned(victim), victim);
  } finally {
    await feed.stop();
    await Promise.all(peers.map((peer) => peer.stop()));
  }
}

export async function failoverWorkload(context: BenchContext): Promise<BenchResult[]> {
  const kafka = createKafkaClient(
    { brokers: context.services.brokers.split(','), clientId: 'bench-failover' },
    silentLogger(),
  );
  await ensurePeerJar(context.log);
  const runs = { ours: context.quick ? 1 : 5, seed: context.quick ? 0 : 2, streams: context.quick ? 0 : 2 };
  const ours: number[] = [];
  const seed: number[] = [];
  const streams: number[] = [];
  for (let run = 0; run < Math.max(runs.ours, runs.seed, runs.streams); run++) {
    if (run < runs.ours) {
      ours.push(await sluiceFailover(context, kafka, {}, 'default'));
      context.log(`failover: sluice (1000 ms x 3) run ${run + 1}: ${ours.at(-1)} ms`);
    }
    if (run < runs.seed) {
      seed.push(
        await sluiceFailover(
          context,
          kafka,
          { heartbeatInterval: 5000, heartbeatMaxRetry: 5, eventPollingInterval: 5000 },
          'seed',
        ),
      );
      context.log(`failover: sluice at the seed's defaults (5000 ms x 5) run ${run + 1}: ${seed.at(-1)} ms`);
    }
    if (run < runs.streams) {
      streams.push(await streamsFailover(context, kafka));
      context.log(`failover: Kafka Streams (1 standby, defaults) run ${run + 1}: ${streams.at(-1)} ms`);
    }
  }
  const results: BenchResult[] = [];
  const details = { ours: { runs: ours, median: median(ours), worst: Math.max(...ours) } };
  if (streams.length > 0) {
    results.push({
      workload: 'failover: kill -> first output (lower is better; ratio = peer/sluice)',
      unit: 'ms',
      sluice: median(ours),
      peer: 'Kafka Streams, 1 standby, defaults',
      peerFigure: median(streams),
      ratio: median(streams) / median(ours),
      details: {
        ...details,
        kafkaStreams: { runs: streams, median: median(streams), worst: Math.max(...streams) },
      },
    });
  }
  if (seed.length > 0) {
    results.push({
      workload: "failover: our defaults vs the seed's 5000 ms x 5 (ratio = seed/ours)",
      unit: 'ms',
      sluice: median(ours),
      peer: 'sluice at 5000 ms x 5 heartbeats',
      peerFigure: median(seed),
      ratio: median(seed) / median(ours),
      details: { ...details, seedDefaults: { runs: seed, median: median(seed), worst: Math.max(...seed) } },
    });
  }
  if (results.length === 0) {
    results.push({
      workload: 'failover: kill -> first output (quick: ours only)',
      unit: 'ms',
      sluice: median(ours),
      peer: '-',
      peerFigure: Number.NaN,
      ratio: Number.NaN,
      details,
    });
  }
  return results;
}
