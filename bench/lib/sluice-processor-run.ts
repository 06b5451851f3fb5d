/**
 * Real `sluice processor` processes for the benchmarks: a config of their own, started with the
 * app and flags a workload needs, measured from /proc, and timed from the group's first commit
 * to the commit of the last input record (start-up excluded, as for the peer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import type { BenchServices } from './env.ts';
import { processStats } from './process-stats.ts';

const repo = join(import.meta.dirname, '..', '..');

export const apps = {
  apiAnalytics: { module: join(repo, 'apps', 'api-analytics.ts'), sink: 'ApiStats', schema: 'ApiStats.avsc' },
  keyedCount: {
    module: join(repo, 'apps', 'keyed-count.ts'),
    sink: 'TenantCounts',
    schema: 'TenantCount.avsc',
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
          partitionKey: 'userTenantDomain',
          partitions: options.partitions,
        },
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
  options: { stateDir: string; guarantee?: string; commitIntervalMs?: number; slot?: number; port?: number },
): RunningProcess {
  const args = [
    join(repo, 'bin', 'sluice.js'),
    'processor',
    '--config',
    deployment.config,
    '--app',
    deployment.app.module,
    '--app-id',
    deployment.appId,
    '--state-dir',
    options.stateDir,
    ...(options.guarantee ? ['--guarantee', options.guarantee] : []),
    ...(options.commitIntervalMs ? ['--commit-interval-ms', String(options.commitIntervalMs)] : []),
    ...(options.slot === undefined ? [] : ['--slot', String(options.slot)]),
    ...(options.port === undefined ? [] : ['--port', String(options.port)]),
  ];
  return spawnProcess(
    process.execPath,
    args,
    options.port ? { SLUICE_ADVERTISED_ADDRESS: `http://127.0.0.1:${options.port}` } : {},
  );
}

async function committedState(admin: KafkaAdmin, group: string, topic: string) {
  const [committed, ends] = await Promise.all([
    admin.committedOffsets(group, topic),
    admin.topicOffsets(topic),
  ]);
  const done = committed.reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0);
  const total = ends.reduce((sum, entry) => sum + Number(entry.high), 0);
  return { done, total };
}

/** Seconds from the group's first commit to the commit of every input record, with /proc figures. */
export async function measureToCaughtUp(
  admin: KafkaAdmin,
  group: string,
  topic: string,
  process: RunningProcess,
  timeoutMs = 900_000,
): Promise<{ seconds: number; records: number; cpuSeconds: number; peakRssMb: number }> {
  const deadline = Date.now() + timeoutMs;
  let first: { at: number; done: number } | undefined;
  let stats = processStats(process.child.pid!);
  for (;;) {
    if (process.exited()) throw new Error(`the process exited early:\n${process.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('did not catch up in time');
    stats = processStats(process.child.pid!) ?? stats;
    const { done, total } = await committedState(admin, group, topic);
    if (!first && done > 0) first = { at: Date.now(), done };
    if (first && done >= total) {
      return {
        seconds: (Date.now() - first.at) / 1000,
        records: done - first.done,
        cpuSeconds: stats?.cpuSeconds ?? 0,
        peakRssMb: stats?.peakRssMb ?? 0,
      };
    }
    await sleep(100);
  }
}
