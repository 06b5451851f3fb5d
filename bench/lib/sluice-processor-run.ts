/**
 * Real `sluice processor` processes for the benchmarks: a config of their own, started with the
 * app and flags a workload needs (timed by bench/lib/committed-observer.ts, as the peer is).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { BenchServices } from './env.ts';

const repo = join(import.meta.dirname, '..', '..');

/** Each app's (first) sink stream, its schema and the field its records are keyed by. */
export const apps = {
  apiAnalytics: {
    module: join(repo, 'apps', 'api-analytics.ts'),
    sink: 'ApiStats',
    schema: 'ApiStats.avsc',
    sinkKey: 'userTenantDomain',
  },
  keyedCount: {
    module: join(repo, 'apps', 'keyed-count.ts'),
    sink: 'TenantCounts',
    schema: 'TenantCount.avsc',
    sinkKey: 'userTenantDomain',
  },
  apiUsage: {
    module: join(repo, 'apps', 'api-usage.ts'),
    sink: 'ApiUsage',
    schema: 'ApiUsage.avsc',
    sinkKey: 'apiName',
  },
  apiUsageWithinPartition: {
    module: join(repo, 'bench', 'apps', 'api-usage-within-partition.ts'),
    sink: 'ApiUsage',
    schema: 'ApiUsage.avsc',
    sinkKey: 'apiName',
  },
  planUsage: {
    module: join(repo, 'apps', 'plan-usage.ts'),
    sink: 'PlanUsage',
    schema: 'PlanUsage.avsc',
    sinkKey: 'plan',
  },
} as const;
export type BenchApp = (typeof apps)[keyof typeof apps];

export interface BenchDeployment {
  dir: string;
  config: string;
  app: BenchApp;
  appId: string;
  inputTopic: string;
  outputTopic: string;
}

/** A config file for one app deployment; cluster settings turn slots on. */
export function benchDeployment(
  services: BenchServices,
  options: {
    app: BenchApp;
    appId: string;
    inputTopic: string;
    outputTopic: string;
    partitions: number;
    cluster?: Record<string, unknown>;
    /** More streams of the app (a second sink, a table), by name; schemas are files of schemas/. */
    streams?: Record<
      string,
      { topic: string; schema: string; partitionKey: string } & Record<string, unknown>
    >;
  },
): BenchDeployment {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { brokers: services.brokers.split(',') },
      registry: { url: services.registryUrl },
      database: { url: services.databaseUrl },
      log: { level: 'info' },
      streams: {
        Request: {
          topic: options.inputTopic,
          schema: join(repo, 'schemas', 'Request.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
          partitions: options.partitions,
        },
        [options.app.sink]: {
          topic: options.outputTopic,
          schema: join(repo, 'schemas', options.app.schema),
          partitionKey: options.app.sinkKey,
          partitions: options.partitions,
        },
        ...Object.fromEntries(
          Object.entries(options.streams ?? {}).map(([name, stream]) => [
            name,
            { partitions: options.partitions, ...stream, schema: join(repo, 'schemas', stream.schema) },
          ]),
        ),
      },
      processor: { http: { port: 0 } },
      ...(options.cluster ? { cluster: { enabled: true, ...options.cluster } } : {}),
    }),
  );
  return {
    dir,
    config,
    app: options.app,
    appId: options.appId,
    inputTopic: options.inputTopic,
    outputTopic: options.outputTopic,
  };
}

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  kill(): Promise<void>;
  exited(): boolean;
}

const live = new Set<ChildProcess>();
// a workload that fails must not leave its processors running (they would skew the next run)
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): RunningProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exit;
  };
  return {
    child,
    output: () => output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    exited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

export function spawnSluiceProcessor(
  deployment: BenchDeployment,
  options: {
    stateDir: string;
    guarantee?: string;
    commitIntervalMs?: number;
    slot?: number;
    port?: number;
    /** processor.workers; the processor's default (the cores available) when not given */
    workers?: number;
    /** Another sluice checkout to run, with its own copy of the app (default: this one). */
    checkout?: string;
  },
): RunningProcess {
  const checkout = options.checkout ?? repo;
  const args = [
    join(checkout, 'bin', 'sluice.js'),
    'processor',
    '--config',
    deployment.config,
    '--app',
    join(checkout, relative(repo, deployment.app.module)),
    '--app-id',
    deployment.appId,
    '--state-dir',
    options.stateDir,
    ...(options.guarantee ? ['--guarantee', options.guarantee] : []),
    ...(options.commitIntervalMs ? ['--commit-interval-ms', String(options.commitIntervalMs)] : []),
    ...(options.slot === undefined ? [] : ['--slot', String(options.slot)]),
    ...(options.port === undefined ? [] : ['--port', String(options.port)]),
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
  ];
  return spawnProcess(
    process.execPath,
    args,
    options.port ? { SLUICE_ADVERTISED_ADDRESS: `http://127.0.0.1:${options.port}` } : {},
  );
}
