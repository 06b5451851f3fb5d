/**
 * W3: api-analytics over a pre-filled topic (1 M events, 1 000 tenants x 20 APIs, seeded; event
 * time spans 10 minutes) under exactly-once and at-least-once, against Kafka Streams doing the
 * same windowed aggregation (same guarantee, same commit interval, RocksDB) twice: as a DSL user
 * writes it (groupBy repartitions through an internal topic) and with the Processor API inside
 * the tenant's partition, as sluice does. Throughput is input records per second from first to
 * last processed record (start-up excluded for all). sluice's and the Processor API peer's
 * exactly-once outputs are checked record for record against an independent computation.
 */

import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { createSerde } from '../../schemas/serde.ts';
import { expectedStats, type Stats, sortStats } from '../../test/integration/processor/reference.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensurePeerJar, spawnPeer, waitForPeerEvent } from '../lib/peer.ts';
import { prefillRequests, readSchema } from '../lib/prefill.ts';
import { readAll } from '../lib/read-all.ts';
import type { BenchResult } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  measureToCaughtUp,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { median } from '../lib/stats.ts';

const partitions = 6;

type Guarantee = 'exactly_once' | 'at_least_once';
/** The Kafka Streams peers: what a DSL user writes (it repartitions), and the like-for-like. */
type PeerMode = 'aggregate' | 'aggregate-local';
const peerModes: PeerMode[] = ['aggregate', 'aggregate-local'];
const peerNames: Record<PeerMode, string> = {
  aggregate: 'Kafka Streams 4.3.1 (DSL, repartition)',
  'aggregate-local': 'Kafka Streams 4.3.1 (Processor API, no repartition)',
};
const commitInterval: Record<Guarantee, number> = { exactly_once: 100, at_least_once: 1000 };

interface Figures {
  recordsPerSecond: number;
  cpuSecondsPerMillion: number;
  peakRssMb: number;
}

export async function aggregationWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const count = context.quick ? 100_000 : 1_000_000;
  const runs = context.quick ? 1 : 2;
  const kafka = createKafkaClient(
    { brokers: services.brokers.split(','), clientId: 'bench-aggregation' },
    silentLogger(),
  );
  const admin = await kafka.connectAdmin();
  const stamp = Date.now().toString(36);
  const input = `bench-agg-${stamp}`;
  context.log(`aggregation: pre-filling ${input} with ${count} events`);
  await prefillRequests({
    kafka,
    registryUrl: services.registryUrl,
    topic: input,
    partitions,
    count,
    generator: {
      seed: 11,
      tenants: 1000,
      apis: 20,
      startTime: Date.UTC(2026, 0, 1),
      stepMs: (10 * 60_000) / count,
      jitterMs: 5000,
    },
  });
  await ensurePeerJar(context.log);
  // the peers write ApiStats in the Confluent wire format, under an id the registry gave it
  const statsSchemaId = await createSchemaRegistryClient(services.registryUrl).register(
    `${input}-stats-value`,
    readSchema('ApiStats.avsc'),
  );
  const figures = new Map<string, Figures[]>();
  const push = (name: string, figure: Figures) => figures.set(name, [...(figures.get(name) ?? []), figure]);
  const verified: string[] = [];

  const serde = createSerde(services.registryUrl);
  const decodeAll = async (topic: string) => {
    const records = await readAll(kafka, topic);
    await serde.prepare(records.map((record) => record.value));
    return records.map((record) => ({ record, value: serde.decode(record.value) }));
  };
  let expected: Stats[] | undefined;
  /** A fast wrong answer is a failure: the output must equal an independent computation. */
  const checkOutput = async (engine: string, topic: string) => {
    context.log(`aggregation: checking ${engine}'s output against an independent computation`);
    if (!expected) {
      const inputRecords = (await decodeAll(input)).map(({ record, value }) => ({
        partition: record.partition,
        offset: BigInt(record.offset),
        event: value as never,
      }));
      expected = expectedStats(inputRecords).stats;
    }
    const output = sortStats((await decodeAll(topic)).map(({ value }) => value as Stats));
    if (JSON.stringify(output) !== JSON.stringify(expected)) {
      throw new Error(
        `${engine} output differs from the expected aggregates (${output.length} vs ${expected.length} windows)`,
      );
    }
    verified.push(`${engine} exactly-once output equals the expected ${expected.length} windows`);
  };

  const runPeer = async (mode: PeerMode, guarantee: Guarantee, id: string, stateDir: string) => {
    const output = `${id}-out`;
    await admin.ensureTopics([{ topic: output, partitions }]);
    const peer = spawnPeer(mode, {
      bootstrap: services.brokers,
      'application-id': id,
      input,
      output,
      'state-dir': stateDir,
      guarantee: guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
      'commit-interval-ms': commitInterval[guarantee],
      'schema-id': statsSchemaId,
      'stop-after-idle-ms': 8000,
    });
    const done = await waitForPeerEvent(peer, 'done');
    await peer.stop();
    const ms = Number(done.event.ms);
    if (Number(done.event.records) === 0) throw new Error(`Kafka Streams (${mode}) aggregated nothing`);
    push(`${mode} ${guarantee}`, {
      recordsPerSecond: count / (ms / 1000),
      cpuSecondsPerMillion: (done.cpuSeconds / count) * 1e6,
      peakRssMb: done.peakRssMb,
    });
    return output;
  };

  for (let run = 0; run < runs; run++) {
    for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
      const id = `bench-agg-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}`;
      const check = run === 0 && guarantee === 'exactly_once';
      context.log(`aggregation: run ${run + 1}/${runs}, ${guarantee}: sluice`);
      const deployment = benchDeployment(services, {
        app: apps.apiAnalytics,
        appId: id,
        inputTopic: input,
        outputTopic: `${id}-out`,
        partitions,
      });
      const processor = spawnSluiceProcessor(deployment, {
        stateDir: `${deployment.dir}/state`,
        guarantee,
        commitIntervalMs: commitInterval[guarantee],
      });
      const sluice = await measureToCaughtUp(admin, id, input, processor);
      await processor.stop();
      push(`sluice ${guarantee}`, {
        recordsPerSecond: sluice.records / sluice.seconds,
        cpuSecondsPerMillion: (sluice.cpuSeconds / count) * 1e6,
        peakRssMb: sluice.peakRssMb,
      });
      if (check) await checkOutput('sluice', deployment.outputTopic);

      for (const mode of peerModes) {
        context.log(`aggregation: run ${run + 1}/${runs}, ${guarantee}: ${peerNames[mode]}`);
        const output = await runPeer(mode, guarantee, `${id}-${mode}`, `${deployment.dir}/ks-${mode}`);
        // the DSL peer keeps stream time per partition of its repartition topic (other tenants
        // than the input partition's), so its late records may differ: only the local peer and
        // sluice share one definition of lateness and must match the computation exactly
        if (check && mode === 'aggregate-local') await checkOutput(peerNames[mode], output);
      }
    }
  }
  await admin.disconnect();

  const med = (name: string, field: keyof Figures) => median((figures.get(name) ?? []).map((f) => f[field]));
  const summary = (name: string) => ({
    perRun: (figures.get(name) ?? []).map((f) => Math.round(f.recordsPerSecond)),
    cpuSecondsPerMillion: Math.round(med(name, 'cpuSecondsPerMillion')),
    peakRssMb: Math.round(med(name, 'peakRssMb')),
  });
  return (['exactly_once', 'at_least_once'] as const).flatMap((guarantee) =>
    peerModes.map((mode) => ({
      workload: `aggregation (api-analytics), ${guarantee}`,
      unit: 'records/s',
      sluice: med(`sluice ${guarantee}`, 'recordsPerSecond'),
      peer: peerNames[mode],
      peerFigure: med(`${mode} ${guarantee}`, 'recordsPerSecond'),
      ratio: med(`sluice ${guarantee}`, 'recordsPerSecond') / med(`${mode} ${guarantee}`, 'recordsPerSecond'),
      details: {
        events: count,
        runs,
        commitIntervalMs: commitInterval[guarantee],
        sluice: summary(`sluice ${guarantee}`),
        kafkaStreams: summary(`${mode} ${guarantee}`),
        exactlyOnceOverAtLeastOnce:
          guarantee === 'exactly_once'
            ? med('sluice exactly_once', 'recordsPerSecond') / med('sluice at_least_once', 'recordsPerSecond')
            : undefined,
        verified: verified.join('; ') || 'not checked',
      },
    })),
  );
}
