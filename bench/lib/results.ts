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
  /** Lines printed under the table (each figure of a spread, a goal met or not). */
  notes?: string[];
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

export function printResults(results: readonly BenchResult[]): void {
  const rows = results.map((r) => [
    r.workload,
    r.unit,
    format(r.sluice),
    r.peer,
    format(r.peerFigure),
    `${format(r.ratio)}x`,
  ]);
  const header = ['workload', 'unit', 'sluice', 'peer', 'peer figure', 'ratio'];
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
): string {
  const path = join(import.meta.dirname, '..', 'results', 'latest.json');
  const latest = JSON.parse(readFileSync(path, 'utf8')) as {
    machine: Record<string, unknown> & { updates?: unknown[] };
    results: BenchResult[];
  };
  // a row belongs to the workload its label starts with ("failover, ...", "broker limit: ...")
  const kept = latest.results.filter((row) => !workloads.some((name) => row.workload.startsWith(name)));
  const machine = {
    ...latest.machine,
    updates: [...(latest.machine.updates ?? []), { ...facts, workloads }],
  };
  writeFileSync(path, `${JSON.stringify({ machine, results: [...kept, ...results] }, null, 2)}\n`);
  return path;
}
