/**
 * `npm run bench [-- --quick] [-- --only ingest,aggregation] [-- --max-busy 0.25] [-- --workers 2]`: runs the
 * workloads against the dev services, prints one table and writes bench/results/latest.json.
 * Never part of `npm test`. The method is in bench/README.md.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchContext } from './lib/context.ts';
import { benchServices } from './lib/env.ts';
import { MachineBusyError, waitForQuietMachine } from './lib/load-gate.ts';
import {
  type BenchResult,
  machineFacts,
  mergeIntoLatest,
  printResults,
  writeResults,
} from './lib/results.ts';
import { aggregationWorkload } from './workloads/aggregation.ts';
import { apiUsageWorkload } from './workloads/api-usage.ts';
import { failoverWorkload } from './workloads/failover.ts';
import { ingestWorkload } from './workloads/ingest.ts';
import { planUsageWorkload } from './workloads/plan-usage.ts';
import { recoveryWorkload } from './workloads/recovery.ts';
import { restoreWorkload } from './workloads/restore.ts';

const workloads: Record<string, (context: BenchContext) => Promise<BenchResult[]>> = {
  ingest: ingestWorkload,
  aggregation: aggregationWorkload,
  'api-usage': apiUsageWorkload,
  'plan-usage': planUsageWorkload,
  restore: restoreWorkload,
  recovery: recoveryWorkload,
  failover: failoverWorkload,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // sluice's worker threads, and the Kafka Streams peers' stream threads (the same number)
    workers: { type: 'string', default: String(availableParallelism()) },
    'without-dsl': { type: 'boolean', default: false },
    // aggregation: this tree against another checkout (an older commit), one thread each
    baseline: { type: 'string' },
    only: { type: 'string' },
    // api-usage and plan-usage: exactly_once, at_least_once or both (the default)
    guarantees: { type: 'string', default: 'exactly_once,at_least_once' },
    // the share of all cores other work may use when a timed run starts (idle dev services: ~5 %)
    'max-busy': { type: 'string', default: '0.25' },
    // how long a run waits for a quiet machine before it is refused
    'busy-wait-s': { type: 'string', default: '600' },
  },
});
const maxBusy = Number(values['max-busy']);
const workers = Number(values.workers);
if (!(Number.isInteger(workers) && workers > 0)) {
  process.stderr.write('--workers must be a positive whole number\n');
  process.exit(2);
}
const busyWaitSeconds = Number(values['busy-wait-s']);
if (!(maxBusy > 0 && maxBusy <= 1) || !(busyWaitSeconds >= 0)) {
  process.stderr.write(
    '--max-busy must be a share of all cores in (0, 1]; --busy-wait-s a number of seconds ≥ 0\n',
  );
  process.exit(2);
}
const guarantees = values.guarantees!.split(',') as BenchContext['guarantees'];
if (guarantees.some((guarantee) => guarantee !== 'exactly_once' && guarantee !== 'at_least_once')) {
  process.stderr.write('--guarantees takes exactly_once, at_least_once or both, comma-separated\n');
  process.exit(2);
}
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
const log = (message: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const context: BenchContext = {
  services,
  quick: values.quick ?? false,
  workers,
  withoutDsl: values['without-dsl'] ?? false,
  guarantees,
  baseline: values.baseline,
  log,
  gate: (what) =>
    waitForQuietMachine(what, { maxBusy, giveUpAfterMs: busyWaitSeconds * 1000, sampleMs: 2000, log }),
};
const results: BenchResult[] = [];
try {
  for (const name of selected) results.push(...(await workloads[name]!(context)));
} catch (error) {
  if (!(error instanceof MachineBusyError)) throw error;
  // a refused run reports nothing: figures taken on a busy machine would measure the neighbours
  process.stderr.write(`\n${error.message}\n`);
  process.exit(3);
}
printResults(results, context.quick);
const facts = {
  ...machineFacts(services.kafkaVersion),
  quick: context.quick,
  workers,
  maxBusy,
  seconds: Math.round((Date.now() - started) / 1000),
};
// a run against a baseline checkout is a before/after, not a row of the benchmark table
const partial = values.only || context.quick || values.baseline;
const file = writeResults(results, facts, partial ? 'partial.json' : 'latest.json');
process.stdout.write(`\nwritten to ${file} after ${Math.round((Date.now() - started) / 1000)} s\n`);
if (values.only && !context.quick && !values.baseline) {
  process.stdout.write(
    `${selected.join(', ')} rows replaced in ${mergeIntoLatest(results, selected, facts, guarantees.length < 2 ? guarantees : undefined)}\n`,
  );
}
process.exit(0);
