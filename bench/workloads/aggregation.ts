/**
 * W3: api-analytics over a pre-filled topic (1 M events, 1 000 tenants x 20 APIs, seeded; event
 * time spans 10 minutes) under exactly-once and at-least-once (`--guarantees`), against Kafka Streams doing the
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

import { execFileSync } from 'node:child_process';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { createSerde } from '../../schemas/serde.ts';
import { expectedStats, type Stats } from '../../test/integration/processor/reference.ts';
import type { BenchContext } from '../lib/context.ts';
import { describeDiff, diffOutputs } from '../lib/output-diff.ts';
import { ensurePeerJar } from '../lib/peer.ts';
import { prefillRequests, readSchema } from '../lib/prefill.ts';
import { readAll } from '../lib/read-all.ts';
import type { BenchResult } from '../lib/results.ts';
import { apps } from '../lib/sluice-processor-run.ts';
import { median } from '../lib/stats.ts';
import {
  alternatingRuns,
  commitInterval,
  comparisonRow,
  type Guarantee,
  spawnPeerRun,
  spawnSluiceRun,
  timedRun,
} from '../lib/throughput-runs.ts';

const partitions = 6;

type System = 'sluice' | 'sluice-1-worker' | 'aggregate-local' | 'aggregate' | 'baseline';
const systems: System[] = ['sluice', 'sluice-1-worker', 'aggregate-local', 'aggregate'];
const systemNamesFor = (workers: number, baseline = ''): Record<System, string> => {
  const threads = `${workers} stream thread${workers === 1 ? '' : 's'}`;
  return {
    sluice: `sluice (${workers} worker${workers === 1 ? '' : 's'})`,
    'sluice-1-worker': 'sluice (1 worker)',
    'aggregate-local': `Kafka Streams 4.3.1 (Processor API, no repartition, ${threads})`,
    aggregate: `Kafka Streams 4.3.1 (DSL, repartition, ${threads})`,
    baseline: `sluice at ${baseline} (one thread)`,
  };
};

const identity = (stats: Stats) => `${stats.userTenantDomain}|${stats.apiName}|${stats.windowStart}`;

export async function aggregationWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const count = context.quick ? 100_000 : 1_000_000;
  const runs = context.quick ? 1 : 3;
  const baseline = context.baseline && {
    dir: context.baseline,
    commit: execFileSync('git', ['-C', context.baseline, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim(),
  };
  const systemNames = systemNamesFor(context.workers, baseline ? baseline.commit : '');
  // against a baseline checkout: this tree and that one on one thread each, no peers
  const timed: System[] = baseline
    ? ['sluice-1-worker', 'baseline']
    : systems.filter((system) => !(context.withoutDsl && system === 'aggregate'));
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

  const spawn = (system: System, guarantee: Guarantee, id: string) =>
    system === 'sluice' || system === 'sluice-1-worker' || system === 'baseline'
      ? spawnSluiceRun(
          services,
          { app: apps.apiAnalytics, appId: id, inputTopic: input, outputTopic: `${id}-out`, partitions },
          system === 'baseline' && baseline
            ? { guarantee, checkout: baseline.dir } // before worker threads: no --workers
            : { guarantee, workers: system === 'sluice' ? context.workers : 1 },
        )
      : spawnPeerRun(services, system, {
          id,
          input,
          guarantee,
          flags: { output: `${id}-out`, 'schema-id': statsSchemaId, threads: context.workers },
        });

  const figures = await alternatingRuns(timed, runs, context.guarantees, async (system, guarantee, run) => {
    const id = `bench-agg-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}-${system}`;
    await admin.ensureTopics([{ topic: `${id}-out`, partitions }]);
    return timedRun(context, {
      what: `aggregation run ${run + 1}/${runs}, ${guarantee}: ${systemNames[system]}`,
      admin,
      group: id,
      input,
      // the DSL peer's repartition topic is its own business: the observer times the input
      internalTopics: [],
      guarantee,
      spawn: () => spawn(system, guarantee, id),
      verify: () => verify(system, `${id}-out`),
    });
  });
  await admin.disconnect();

  const of = (system: System, guarantee: Guarantee) => ({
    name: systemNames[system],
    runs: figures.get(`${system} ${guarantee}`) ?? [],
  });
  const rate = (system: System, guarantee: Guarantee) =>
    median(
      of(system, guarantee)
        .runs.filter((run) => !run.failed)
        .map((run) => run.recordsPerSecond),
    );
  const ours: System = baseline ? 'sluice-1-worker' : 'sluice';
  return context.guarantees.flatMap((guarantee) =>
    (['aggregate-local', 'aggregate', 'sluice-1-worker', 'baseline'] as const)
      .filter((peer) => peer !== ours && of(peer, guarantee).runs.length > 0) // left out of this run
      .map((peer) =>
        comparisonRow(context, {
          workload: `aggregation (api-analytics), ${guarantee}`,
          ours: of(ours, guarantee),
          theirs: of(peer, guarantee),
          details: {
            events: count,
            commitIntervalMs: commitInterval[guarantee],
            exactlyOnceOverAtLeastOnce:
              context.guarantees.length === 2
                ? rate(ours, 'exactly_once') / rate(ours, 'at_least_once')
                : undefined,
          },
        }),
      ),
  );
}
