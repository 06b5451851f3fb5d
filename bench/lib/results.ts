/**
 * Benchmark results: one entry per workload (sluice figure, peer figure, ratio), printed as one
 * table and written with machine facts and versions to bench/results/latest.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  workload: string;
  unit: string;
  sluice: number;
  peer: string;
  peerFigure: number;
  /** sluice / peer (for times, peer / sluice is reported the same way: higher is better for sluice). */
  ratio: number;
  /** Figures a reader needs beside the ratio (latencies, spread, CPU, memory, counts verified). */
  details: Record<string, unknown>;
  /** Peak RSS and CPU per million records of each side's processes (medians over the runs). */
  resources?: { sluice: Resources; peer: Resources };
  /** Lines printed under the table (each figure of a spread, a goal met or not). */
  notes?: string[];
}

/** Start-up (spawn → first commit) beyond this share of the measured span is pointed out. */
export const maxStartupShare = 0.1;

/**
 * A ratio only where it means something: never in a quick run (at that size start-up and warm-up
 * decide it). The spans start at the first commit, so start-up is not inside them, but warm-up
 * is: where a side's start-up is 10 % or more of its span, the ratio is kept with a caution saying
 * so (a larger input amortizes warm-up). Withheld ratios are NaN, with why.
 */
export function comparableRatio(
  ratio: number,
  options: { quick: boolean; startups?: readonly { name: string; startupMs: number; spanMs: number }[] },
): { ratio: number; withheld?: string; caution?: string } {
  if (options.quick) return { ratio: Number.NaN, withheld: 'quick run: figures at a small size, no ratio' };
  const heavy = (options.startups ?? []).filter((side) => side.startupMs >= maxStartupShare * side.spanMs);
  if (heavy.length === 0) return { ratio };
  return {
    ratio,
    caution: `start-up (not timed) is ≥ 10 % of the measured span for ${heavy
      .map((side) => `${side.name} (${Math.round(side.startupMs)} ms vs ${Math.round(side.spanMs)} ms)`)
      .join(', ')}: JIT warm-up weighs in the span; a larger input would amortize it`,
  };
}

export interface Resources {
  /** The largest peak RSS (VmHWM) of the side's processes. */
  peakRssMb?: number;
  /** CPU-seconds of the side's processes per million input records. */
  cpuSecondsPerMillion?: number;
}

export function machineFacts(kafkaVersion: string) {
  const packageJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kafka: kafkaVersion,
    kafkajs: packageJson.dependencies.kafkajs,
  };
}

const format = (value: number) =>
  Number.isFinite(value)
    ? Math.abs(value) >= 100
      ? Math.round(value).toLocaleString('en')
      : value.toFixed(2)
    : '–';

export function printResults(results: readonly BenchResult[], quick = false): void {
  if (quick) {
    process.stdout.write(
      '\nquick run: small inputs and one run each; figures are printed without ratios (start-up and warm-up would decide them)\n',
    );
  }
  const resource = (value: number | undefined) => (value === undefined ? '–' : format(value));
  const rows = results.map((r) => [
    r.workload,
    r.unit,
    format(r.sluice),
    r.peer,
    format(r.peerFigure),
    Number.isFinite(r.ratio) ? `${format(r.ratio)}x` : '–',
    `${resource(r.resources?.sluice.peakRssMb)} / ${resource(r.resources?.peer.peakRssMb)}`,
    `${resource(r.resources?.sluice.cpuSecondsPerMillion)} / ${resource(r.resources?.peer.cpuSecondsPerMillion)}`,
  ]);
  const header = [
    'workload',
    'unit',
    'sluice',
    'peer',
    'peer figure',
    'ratio',
    'peak RSS MB (sluice / peer)',
    'CPU-s per M records (sluice / peer)',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  const notes = results.flatMap((result) => result.notes ?? []);
  if (notes.length > 0) process.stdout.write(`\n${notes.map((note) => `- ${note}`).join('\n')}\n`);
}

export function writeResults(
  results: readonly BenchResult[],
  facts: Record<string, unknown>,
  file = 'latest.json',
): string {
  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, `${JSON.stringify({ machine: facts, results }, null, 2)}\n`);
  return path;
}

/**
 * A full run of some workloads (`--only`, not `--quick`) replaces their rows in latest.json and
 * keeps the others; the machine facts of that run are kept beside the original run's.
 */
export function mergeIntoLatest(
  results: readonly BenchResult[],
  workloads: readonly string[],
  facts: Record<string, unknown>,
  /** Only these guarantees were run: rows of the others (labels end with the guarantee) are kept. */
  guarantees?: readonly string[],
): string {
  const path = join(import.meta.dirname, '..', 'results', 'latest.json');
  const latest = JSON.parse(readFileSync(path, 'utf8')) as {
    machine: Record<string, unknown> & { updates?: unknown[] };
    results: BenchResult[];
  };
  // a row belongs to the workload its label starts with ("failover, ...", "ingest, broker limit: ...")
  const kept = latest.results.filter(
    (row) =>
      !workloads.some((name) => row.workload.startsWith(name)) ||
      (guarantees !== undefined && !guarantees.some((guarantee) => row.workload.endsWith(guarantee))),
  );
  const machine = {
    ...latest.machine,
    updates: [...(latest.machine.updates ?? []), { ...facts, workloads }],
  };
  writeFileSync(path, `${JSON.stringify({ machine, results: [...kept, ...results] }, null, 2)}\n`);
  return path;
}
