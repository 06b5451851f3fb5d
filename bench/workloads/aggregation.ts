/**
 * W3: api-analytics over a pre-filled topic (1 M events, 1 000 tenants x 20 APIs, seeded; event
 * time spans 10 minutes) under exactly-once and at-least-once, against Kafka Streams doing the
 * same windowed aggregation (same guarantee, same commit interval, RocksDB). Throughput is input
 * records per second from first to last processed record (start-up excluded for both). sluice's
 * exactly-once output is checked record for record against an independent computation.
 */

import type { IncomingRecord, KafkaClient } from '../../common/kafka/index.ts';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSerde } from '../../schemas/serde.ts';
import { expectedStats, type Stats, sortStats } from '../../test/integration/processor/reference.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensurePeerJar, spawnPeer, waitForPeerEvent } from '../lib/peer.ts';
import { prefillRequests } from '../lib/prefill.ts';
import type { BenchResult } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  measureToCaughtUp,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { median } from '../lib/stats.ts';

const partitions = 6;

async function readAll(kafka: KafkaClient, topic: string): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  await kafka.readTopic({ topic, until: 'end', onBatch: (batch) => void records.push(...batch) });
  return records;
}
type Guarantee = 'exactly_once' | 'at_least_once';
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
  let schemaId = 0;
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
    onSchemaId: (id) => {
      schemaId = id;
    },
  });
  await ensurePeerJar(context.log);
  const figures = new Map<string, Figures[]>();
  const push = (name: string, figure: Figures) => figures.set(name, [...(figures.get(name) ?? []), figure]);
  let verified = 'not checked';

  for (let run = 0; run < runs; run++) {
    for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
      const id = `bench-agg-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}`;
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
      if (run === 0 && guarantee === 'exactly_once') {
        context.log('aggregation: checking the output against an independent computation');
        const serde = createSerde(services.registryUrl);
        const decodeAll = async (topic: string) => {
          const records = await readAll(kafka, topic);
          await serde.prepare(records.map((record) => record.value));
          return records.map((record) => ({ record, value: serde.decode(record.value) }));
        };
        const inputRecords = (await decodeAll(input)).map(({ record, value }) => ({
          partition: record.partition,
          offset: BigInt(record.offset),
          event: value as never,
        }));
        const expected = expectedStats(inputRecords).stats;
        const output = sortStats(
          (await decodeAll(deployment.outputTopic)).map(({ value }) => value as Stats),
        );
        if (JSON.stringify(output) !== JSON.stringify(expected)) {
          throw new Error(
            `sluice output differs from the expected aggregates (${output.length} vs ${expected.length} windows)`,
          );
        }
        verified = `sluice exactly-once output equals the expected ${expected.length} windows`;
      }

      context.log(`aggregation: run ${run + 1}/${runs}, ${guarantee}: Kafka Streams`);
      await admin.ensureTopics([{ topic: `${id}-ks-out`, partitions }]);
      const peer = spawnPeer('aggregate', {
        bootstrap: services.brokers,
        'application-id': `${id}-ks`,
        input,
        output: `${id}-ks-out`,
        'state-dir': `${deployment.dir}/ks-state`,
        guarantee: guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
        'commit-interval-ms': commitInterval[guarantee],
        'schema-id': schemaId,
        'stop-after-idle-ms': 8000,
      });
      const done = await waitForPeerEvent(peer, 'done');
      await peer.stop();
      const ms = Number(done.event.ms);
      if (Number(done.event.records) === 0) throw new Error('Kafka Streams aggregated nothing');
      push(`streams ${guarantee}`, {
        recordsPerSecond: count / (ms / 1000),
        cpuSecondsPerMillion: (done.cpuSeconds / count) * 1e6,
        peakRssMb: done.peakRssMb,
      });
      figures.set(`streams ${guarantee} aggregated`, [
        ...(figures.get(`streams ${guarantee} aggregated`) ?? []),
        { recordsPerSecond: Number(done.event.records), cpuSecondsPerMillion: 0, peakRssMb: 0 },
      ]);
    }
  }
  await admin.disconnect();

  const med = (name: string, field: keyof Figures) => median((figures.get(name) ?? []).map((f) => f[field]));
  return (['exactly_once', 'at_least_once'] as const).map((guarantee) => ({
    workload: `aggregation (api-analytics), ${guarantee}`,
    unit: 'records/s',
    sluice: med(`sluice ${guarantee}`, 'recordsPerSecond'),
    peer: 'Kafka Streams 4.3.1 (DSL, repartition)',
    peerFigure: med(`streams ${guarantee}`, 'recordsPerSecond'),
    ratio: med(`sluice ${guarantee}`, 'recordsPerSecond') / med(`streams ${guarantee}`, 'recordsPerSecond'),
    details: {
      events: count,
      runs,
      commitIntervalMs: commitInterval[guarantee],
      sluice: {
        perRun: (figures.get(`sluice ${guarantee}`) ?? []).map((f) => Math.round(f.recordsPerSecond)),
        cpuSecondsPerMillion: Math.round(med(`sluice ${guarantee}`, 'cpuSecondsPerMillion')),
        peakRssMb: Math.round(med(`sluice ${guarantee}`, 'peakRssMb')),
      },
      kafkaStreams: {
        perRun: (figures.get(`streams ${guarantee}`) ?? []).map((f) => Math.round(f.recordsPerSecond)),
        cpuSecondsPerMillion: Math.round(med(`streams ${guarantee}`, 'cpuSecondsPerMillion')),
        peakRssMb: Math.round(med(`streams ${guarantee}`, 'peakRssMb')),
        aggregatedRecords: (figures.get(`streams ${guarantee} aggregated`) ?? []).map(
          (f) => f.recordsPerSecond,
        ),
      },
      exactlyOnceOverAtLeastOnce:
        guarantee === 'exactly_once'
          ? med('sluice exactly_once', 'recordsPerSecond') / med('sluice at_least_once', 'recordsPerSecond')
          : undefined,
      verified,
    },
  }));
}
