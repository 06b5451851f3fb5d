/**
 * Throughput runs of the drain workloads (aggregation, api-usage, plan-usage), the method of
 * bench/README.md: each system drains the same pre-filled input under both guarantees, timed by
 * the committed-offset observer, the machine's load gated and recorded, the output checked against
 * the independent computation after every run, 3 rounds with the order alternated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { type ObservedRun, observeToCaughtUp } from './committed-observer.ts';
import type { BenchContext } from './context.ts';
import type { BenchServices } from './env.ts';
import type { MachineLoad } from './load-gate.ts';
import { spawnPeer } from './peer.ts';
import { type BenchResult, comparableRatio } from './results.ts';
import { benchDeployment, type RunningProcess, spawnSluiceProcessor } from './sluice-processor-run.ts';
import { median, summary } from './stats.ts';

export type Guarantee = 'exactly_once' | 'at_least_once';
/** sluice's defaults, given to the peer too. */
export const commitInterval: Record<Guarantee, number> = { exactly_once: 100, at_least_once: 1000 };

/** A system's process in one run and the directory of its state (removed after the run). */
export interface SpawnedRun {
  process: RunningProcess;
  dir: string;
}

/** A sluice processor of a deployment of its own, under the run's guarantee and commit interval. */
export function spawnSluiceRun(
  services: BenchServices,
  deployment: Parameters<typeof benchDeployment>[1],
  options: { guarantee: Guarantee; workers?: number; checkout?: string },
): SpawnedRun {
  const written = benchDeployment(services, deployment);
  const process = spawnSluiceProcessor(written, {
    stateDir: `${written.dir}/state`,
    guarantee: options.guarantee,
    commitIntervalMs: commitInterval[options.guarantee],
    workers: options.workers,
    checkout: options.checkout,
  });
  return { process, dir: written.dir };
}

/**
 * The Kafka Streams peer in `mode` as application `id`, under the same guarantee and commit
 * interval as sluice, with a state directory of its own; `flags` are the workload's own.
 */
export function spawnPeerRun(
  services: BenchServices,
  mode: string,
  options: { id: string; input: string; guarantee: Guarantee; flags: Record<string, string | number> },
): SpawnedRun {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-ks-'));
  const process = spawnPeer(mode, {
    bootstrap: services.brokers,
    'application-id': options.id,
    input: options.input,
    'state-dir': dir,
    guarantee: options.guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once',
    'commit-interval-ms': commitInterval[options.guarantee],
    ...options.flags,
  });
  return { process, dir };
}

export interface Run extends ObservedRun {
  load: MachineLoad;
  verified: string;
  /** The output was wrong: the run's figures are not used (a fast wrong answer counts for nothing). */
  failed?: boolean;
}

/** One timed run: gate, spawn, observe to caught up, stop, then check the output. */
export async function timedRun(
  context: BenchContext,
  options: {
    what: string;
    admin: KafkaAdmin;
    /** The consumer group (sluice's app id, the peer's application id). */
    group: string;
    input: string;
    /** The repartition topic, which must be committed to its end too. */
    internalTopics: readonly string[];
    guarantee: Guarantee;
    spawn(): SpawnedRun;
    /** Throws when the output is wrong; says what was compared. */
    verify(): Promise<string>;
  },
): Promise<Run> {
  const load = await context.gate(options.what);
  context.log(`${options.what} (load ${load.load1}, ${Math.round(load.busy * 100)} % busy)`);
  const spawnedAt = performance.now();
  const { process, dir } = options.spawn();
  let observed: ObservedRun;
  try {
    observed = await observeToCaughtUp({
      admin: options.admin,
      group: options.group,
      input: options.input,
      process,
      spawnedAt,
      exactlyOnce: options.guarantee === 'exactly_once',
      internalTopics: options.internalTopics,
    });
  } finally {
    await process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  try {
    const verified = await options.verify();
    context.log(`${options.what}: ${Math.round(observed.recordsPerSecond)} records/s; output ${verified}`);
    return { ...observed, load, verified };
  } catch (error) {
    // the other runs go on: one engine's wrong output says nothing about the next run's
    const verified = `FAILED: ${(error as Error).message}`;
    context.log(`${options.what}: ${verified}`);
    return { ...observed, load, verified, failed: true };
  }
}

/**
 * `runs` rounds of every system under each guarantee given; whoever runs first in one round runs last
 * in the next. Returns the runs by `${system} ${guarantee}`.
 */
export async function alternatingRuns<S extends string>(
  systems: readonly S[],
  runs: number,
  guarantees: readonly Guarantee[],
  runOnce: (system: S, guarantee: Guarantee, run: number) => Promise<Run>,
): Promise<Map<string, Run[]>> {
  const figures = new Map<string, Run[]>();
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? systems : [...systems].reverse();
    for (const guarantee of guarantees) {
      for (const system of order) {
        const key = `${system} ${guarantee}`;
        figures.set(key, [...(figures.get(key) ?? []), await runOnce(system, guarantee, run)]);
      }
    }
  }
  return figures;
}

/** Median, spread and resources of one system's runs, with every run's figures. */
export function describeRuns(all: readonly Run[]) {
  const runs = all.filter((run) => !run.failed);
  const rate = summary(runs.map((run) => run.recordsPerSecond));
  const med = (field: keyof ObservedRun) => median(runs.map((run) => run[field]));
  return {
    failedRuns: all.length - runs.length,
    recordsPerSecond: {
      median: Math.round(rate.median),
      min: Math.round(rate.min),
      max: Math.round(rate.max),
    },
    perRun: all.map((run) => ({
      recordsPerSecond: Math.round(run.recordsPerSecond),
      spanMs: Math.round(run.spanMs),
      startupMs: Math.round(run.startupMs),
      cpuSecondsPerMillion: Math.round(run.cpuSecondsPerMillion),
      peakRssMb: Math.round(run.peakRssMb),
      load1: run.load.load1,
      busyPercent: Math.round(run.load.busy * 100),
      verified: run.verified,
    })),
    cpuSecondsPerMillion: Math.round(med('cpuSecondsPerMillion')),
    peakRssMb: Math.round(med('peakRssMb')),
    startupMs: med('startupMs'),
    spanMs: med('spanMs'),
  };
}

export type RunsFigure = ReturnType<typeof describeRuns>;

/** "N records/s (min–max), C CPU-s per M records, peak RSS R MB" */
export function spreadLine(figure: RunsFigure): string {
  const { median, min, max } = figure.recordsPerSecond;
  const failed = figure.failedRuns > 0 ? `; ${figure.failedRuns} run(s) with a wrong output not counted` : '';
  return `${median.toLocaleString('en')} records/s (${min.toLocaleString('en')}–${max.toLocaleString('en')}), ${figure.cpuSecondsPerMillion} CPU-s per M records, peak RSS ${figure.peakRssMb} MB${failed}`;
}

/** One row of the table: `ours` against `theirs` (a peer, or sluice itself in another form). */
export function comparisonRow(
  context: BenchContext,
  row: {
    workload: string;
    ours: { name: string; runs: readonly Run[] };
    theirs: { name: string; runs: readonly Run[] };
    details?: Record<string, unknown>;
  },
): BenchResult {
  const ours = describeRuns(row.ours.runs);
  const theirs = describeRuns(row.theirs.runs);
  const { ratio, withheld, caution } = comparableRatio(
    ours.recordsPerSecond.median / theirs.recordsPerSecond.median,
    {
      quick: context.quick,
      startups: [
        { name: row.ours.name, startupMs: ours.startupMs, spanMs: ours.spanMs },
        { name: row.theirs.name, startupMs: theirs.startupMs, spanMs: theirs.spanMs },
      ],
    },
  );
  return {
    workload: row.workload,
    unit: 'records/s',
    sluice: ours.recordsPerSecond.median,
    peer: row.theirs.name,
    peerFigure: theirs.recordsPerSecond.median,
    ratio,
    resources: {
      sluice: { peakRssMb: ours.peakRssMb, cpuSecondsPerMillion: ours.cpuSecondsPerMillion },
      peer: { peakRssMb: theirs.peakRssMb, cpuSecondsPerMillion: theirs.cpuSecondsPerMillion },
    },
    details: {
      ...row.details,
      runs: row.ours.runs.length,
      [row.ours.name]: ours,
      [row.theirs.name]: theirs,
      cpuPerRecordRatio: ours.cpuSecondsPerMillion / theirs.cpuSecondsPerMillion,
      rssRatio: ours.peakRssMb / theirs.peakRssMb,
      withheld,
      caution,
    },
    notes: [
      `${row.workload}, ${row.ours.name}: ${spreadLine(ours)}`,
      `${row.workload}, ${row.theirs.name}: ${spreadLine(theirs)}`,
      ...[withheld, caution].flatMap((text) => (text ? [`${row.workload}: ${text}`] : [])),
    ],
  };
}
