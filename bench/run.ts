/**
 * `npm run bench [-- --quick] [-- --only ingest,aggregation]`: runs the workloads against the dev
 * services, prints one table and writes bench/results/latest.json. Never part of `npm test`.
 */
import { parseArgs } from 'node:util';
import type { BenchContext } from './lib/context.ts';
import { benchServices } from './lib/env.ts';
import {
  type BenchResult,
  machineFacts,
  mergeIntoLatest,
  printResults,
  writeResults,
} from './lib/results.ts';
import { aggregationWorkload } from './workloads/aggregation.ts';
import { failoverWorkload } from './workloads/failover.ts';
import { ingestWorkload } from './workloads/ingest.ts';
import { restoreWorkload } from './workloads/restore.ts';

const workloads: Record<string, (context: BenchContext) => Promise<BenchResult[]>> = {
  ingest: ingestWorkload,
  aggregation: aggregationWorkload,
  restore: restoreWorkload,
  failover: failoverWorkload,
};

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const selected = values.only ? values.only.split(',') : Object.keys(workloads);
const unknown = selected.filter((name) => !workloads[name]);
if (unknown.length > 0) {
  process.stderr.write(
    `unknown workload(s) ${unknown.join(', ')}; known: ${Object.keys(workloads).join(', ')}\n`,
  );
  process.exit(2);
}

const started = Date.now();
const services = await benchServices();
const context: BenchContext = {
  services,
  quick: values.quick ?? false,
  log: (message) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
};
const results: BenchResult[] = [];
for (const name of selected) results.push(...(await workloads[name]!(context)));
printResults(results);
const facts = {
  ...machineFacts(services.kafkaVersion),
  quick: context.quick,
  seconds: Math.round((Date.now() - started) / 1000),
};
const file = writeResults(results, facts, values.only || context.quick ? 'partial.json' : 'latest.json');
process.stdout.write(`\nwritten to ${file} after ${Math.round((Date.now() - started) / 1000)} s\n`);
if (values.only && !context.quick) {
  process.stdout.write(
    `${selected.join(', ')} rows replaced in ${mergeIntoLatest(results, selected, facts)}\n`,
  );
}
process.exit(0);
