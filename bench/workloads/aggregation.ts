/**
 * W3: api-analytics over a pre-filled topic (1 M events, 1 000 tenants x 20 APIs, seeded; event
 * time spans 10 minutes) under exactly-once and at-least-once, against Kafka Streams doing the
 * same windowed aggregation (same guarantee, same commit interval, RocksDB, as many stream threads
 * as sluice has worker threads: `--workers`, the cores available by default) twice: with the
 * Processor API inside the tenant's partition, as sluice does (the like-for-like peer), and as a
 * DSL user writes it (groupBy repartitions through an internal topic). sluice also runs with one
 * worker (every task on the main thread), to show what the worker threads bring.
 *
 * Method (bench/README.md): every system is timed by the same committed-offset observer, from the
 * group's first commit to the commit of the whole input; 3 runs each, the order alternated; the
 * machine's load gated and recorded before each run; every output of sluice and of the
 * Processor API peer compared exactly with an independent computation (a wrong one fails the run).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { createSerde } from '../../schemas/serde.ts';
import { expectedStats, type Stats } from '../../test/integration/processor/reference.ts';
import { type ObservedRun, observeToCaughtUp } from '../lib/committed-observer.ts';
import type { BenchContext } from '../lib/context.ts';
import type { MachineLoad } from '../lib/load-gate.ts';
import { describeDiff, diffOutputs } from '../lib/output-diff.ts';
import { ensurePeerJar, spawnPeer } from '../lib/peer.ts';
import { prefillRequests, readSchema } from '../lib/prefill.ts';
import { readAll } from '../lib/read-all.ts';
import { type BenchResult, comparableRatio } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  type RunningProcess,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { median, summary } from '../lib/stats.ts';

const partitions = 6;

type Guarantee = 'exactly_once' | 'at_least_once';
type System = 'sluice' | 'sluice-1-worker' | 'aggregate-local' | 'aggregate';
const systems: System[] = ['sluice', 'sluice-1-worker', 'aggregate-local', 'aggregate'];
const systemNamesFor = (workers: number): Record<System, string> => {
  const threads = `${workers} stream thread${workers === 1 ? '' : 's'}`;
  return {
    sluice: `sluice (${workers} worker${workers === 1 ? '' : 's'})`,
    'sluice-1-worker': 'sluice (1 worker)',
    'aggregate-local': `Kafka Streams 4.3.1 (Processor API, no repartition, ${threads})`,
    aggregate: `Kafka Streams 4.3.1 (DSL, repartition, ${threads})`,
  };
};
const commitInterval: Record<Guarantee, number> = { exactly_once: 100, at_least_once: 1000 };

interface Run extends ObservedRun {
  load: MachineLoad;
  verified: string;
}

const identity = (stats: Stats) => `${stats.userTenantDomain}|${stats.apiName}|${stats.windowStart}`;

export async function aggregationWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const count = context.quick ? 100_000 : 1_000_000;
  const runs = context.quick ? 1 : 3;
  const systemNames = systemNamesFor(context.workers);
  const timed = systems.filter((system) => !(context.withoutDsl && system === 'aggregate'));
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
  /** A fast wrong answer is a failure: the output must equal the independent computation. */
  const verify = async (system: System, topic: string) => {
    // the DSL peer keeps stream time per partition of its repartition topic (other tenants than
    // the input partition's), so its late records differ by design: only counted, not compared
    if (system === 'aggregate')
      return `${(await readAll(kafka, topic)).length} windows (not compared: DSL lateness differs)`;
    const output = (await decodeAll(topic)).map(({ value }) => value as Stats);
    const diff = diffOutputs(expected, output, identity);
    if (!diff.ok) throw new Error(`aggregation: ${systemNames[system]}'s output ${describeDiff(diff)}`);
    return describeDiff(diff);
  };

  const figures = new Map<string, Run[]>();
  /** The system's process, and the directory of its state (removed after the run). */
  const spawn = (
    system: System,
    guarantee: Guarantee,
    id: string,
  ): { process: RunningProcess; dir: string } => {
    if (system === 'sluice' || system === 'sluice-1-worker') {
      const deployment = benchDeployment(services, {
        app: apps.apiAnalytics,
        appId: id,
        inputTopic: input,
        outputTopic: `${id}-out`,
        partitions,
      });
      const process = spawnSluiceProcessor(deployment, {
        stateDir: `${deployment.dir}/state`,
        guarantee,
        commitIntervalMs: commitInterval[guarantee],
        workers: system === 'sluice' ? context.workers : 1,
      });
      return { process, dir: deployment.dir };
    }
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-ks-'));
    const process = spawnPeer(system, {
      bootstrap: services.brokers,
      'application-id': id,
      input,
      output: `${id}-out`,
      'state-dir': dir,
      guarantee: guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
      'commit-interval-ms': commitInterval[guarantee],
      'schema-id': statsSchemaId,
      threads: context.workers,
    });
    return { process, dir };
  };
  const runOnce = async (system: System, guarantee: Guarantee, run: number) => {
    const id = `bench-agg-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}-${system}`;
    await admin.ensureTopics([{ topic: `${id}-out`, partitions }]);
    const load = await context.gate(`aggregation ${systemNames[system]} ${guarantee} run ${run + 1}`);
    context.log(
      `aggregation: run ${run + 1}/${runs}, ${guarantee}: ${systemNames[system]} (load ${load.load1}, ${Math.round(load.busy * 100)} % busy)`,
    );
    const spawnedAt = performance.now();
    const { process, dir } = spawn(system, guarantee, id);
    let observed: ObservedRun;
    try {
      observed = await observeToCaughtUp({
        admin,
        group: id,
        input,
        process,
        spawnedAt,
        exactlyOnce: guarantee === 'exactly_once',
      });
    } finally {
      await process.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const verified = await verify(system, `${id}-out`);
    const key = `${system} ${guarantee}`;
    figures.set(key, [...(figures.get(key) ?? []), { ...observed, load, verified }]);
  };

  for (let run = 0; run < runs; run++) {
    // the order alternates: whoever runs first in one round runs last in the next
    const order = run % 2 === 0 ? timed : [...timed].reverse();
    for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
      for (const system of order) await runOnce(system, guarantee, run);
    }
  }
  await admin.disconnect();
  return aggregationResults(context, figures, { count, runs });
}

function aggregationResults(
  context: BenchContext,
  figures: ReadonlyMap<string, Run[]>,
  facts: { count: number; runs: number },
): BenchResult[] {
  const systemNames = systemNamesFor(context.workers);
  const of = (system: System, guarantee: Guarantee) => figures.get(`${system} ${guarantee}`) ?? [];
  const med = (system: System, guarantee: Guarantee, field: keyof ObservedRun) =>
    median(of(system, guarantee).map((run) => run[field]));
  const describe = (system: System, guarantee: Guarantee) => {
    const runs = of(system, guarantee);
    const rate = summary(runs.map((run) => run.recordsPerSecond));
    return {
      recordsPerSecond: {
        median: Math.round(rate.median),
        min: Math.round(rate.min),
        max: Math.round(rate.max),
      },
      perRun: runs.map((run) => ({
        recordsPerSecond: Math.round(run.recordsPerSecond),
        spanMs: Math.round(run.spanMs),
        startupMs: Math.round(run.startupMs),
        cpuSecondsPerMillion: Math.round(run.cpuSecondsPerMillion),
        peakRssMb: Math.round(run.peakRssMb),
        load1: run.load.load1,
        busyPercent: Math.round(run.load.busy * 100),
        verified: run.verified,
      })),
      cpuSecondsPerMillion: Math.round(med(system, guarantee, 'cpuSecondsPerMillion')),
      peakRssMb: Math.round(med(system, guarantee, 'peakRssMb')),
    };
  };
  const results: BenchResult[] = [];
  for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
    const ours = med('sluice', guarantee, 'recordsPerSecond');
    for (const peer of ['aggregate-local', 'aggregate', 'sluice-1-worker'] as const) {
      if (of(peer, guarantee).length === 0) continue; // left out of this run
      const theirs = med(peer, guarantee, 'recordsPerSecond');
      const { ratio, withheld, caution } = comparableRatio(ours / theirs, {
        quick: context.quick,
        startups: (['sluice', peer] as const).map((system) => ({
          name: systemNames[system],
          startupMs: med(system, guarantee, 'startupMs'),
          spanMs: med(system, guarantee, 'spanMs'),
        })),
      });
      const sluice = describe('sluice', guarantee);
      /** The peer's figures: Kafka Streams, or sluice on one worker. */
      const other = describe(peer, guarantee);
      const spread = (figure: ReturnType<typeof describe>) =>
        `${figure.recordsPerSecond.median.toLocaleString('en')} records/s (${figure.recordsPerSecond.min.toLocaleString('en')}–${figure.recordsPerSecond.max.toLocaleString('en')}), ${figure.cpuSecondsPerMillion} CPU-s per M records, peak RSS ${figure.peakRssMb} MB`;
      results.push({
        workload: `aggregation (api-analytics), ${guarantee}`,
        unit: 'records/s',
        sluice: ours,
        peer: systemNames[peer],
        peerFigure: theirs,
        ratio,
        resources: {
          sluice: { peakRssMb: sluice.peakRssMb, cpuSecondsPerMillion: sluice.cpuSecondsPerMillion },
          peer: {
            peakRssMb: other.peakRssMb,
            cpuSecondsPerMillion: other.cpuSecondsPerMillion,
          },
        },
        details: {
          events: facts.count,
          runs: facts.runs,
          commitIntervalMs: commitInterval[guarantee],
          sluice,
          peer: other,
          cpuPerRecordRatio: sluice.cpuSecondsPerMillion / other.cpuSecondsPerMillion,
          rssRatio: sluice.peakRssMb / other.peakRssMb,
          exactlyOnceOverAtLeastOnce:
            guarantee === 'exactly_once'
              ? med('sluice', 'exactly_once', 'recordsPerSecond') /
                med('sluice', 'at_least_once', 'recordsPerSecond')
              : undefined,
          withheld,
          caution,
        },
        notes: [
          // sluice's figures once per guarantee, each peer's on its own row
          ...(peer === 'aggregate-local' ? [`aggregation ${guarantee}, sluice: ${spread(sluice)}`] : []),
          `aggregation ${guarantee}, ${systemNames[peer]}: ${spread(other)}`,
          ...[withheld, caution].flatMap((text) =>
            text ? [`aggregation ${guarantee} vs ${systemNames[peer]}: ${text}`] : [],
          ),
        ],
      });
    }
  }
  return results;
}
