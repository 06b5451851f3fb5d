/**
 * Runs a real `sluice processor` over a pre-filled topic and measures it: wall time until the
 * group has committed every input record, CPU seconds and peak RSS of the process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { processStats } from './process-stats.ts';

const repo = join(import.meta.dirname, '..', '..');

export interface ProcessorRunOptions {
  admin: KafkaAdmin;
  brokers: string;
  registryUrl: string;
  appId: string;
  inputTopic: string;
  outputTopic: string;
  partitions: number;
  guarantee: 'exactly_once' | 'at_least_once';
  commitIntervalMs: number;
  /** Keep this state directory (for a restore run afterwards). */
  stateDir?: string;
  timeoutMs?: number;
}

export interface ProcessorRunResult {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  output: string;
  stateDir: string;
}

export function writeBenchConfig(dir: string, options: ProcessorRunOptions, stateDir: string): string {
  const file = join(dir, 'sluice.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      kafka: { brokers: options.brokers.split(',') },
      registry: { url: options.registryUrl },
      log: { level: 'info' },
      streams: {
        Request: {
          topic: options.inputTopic,
          schema: join(repo, 'schemas', 'Request.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
          partitions: options.partitions,
        },
        ApiStats: {
          topic: options.outputTopic,
          schema: join(repo, 'schemas', 'ApiStats.avsc'),
          partitionKey: 'userTenantDomain',
          eventTime: 'windowStart',
          partitions: options.partitions,
        },
      },
      processor: { stateDir, http: { port: 0 } },
    }),
  );
  return file;
}

async function caughtUp(admin: KafkaAdmin, group: string, topic: string): Promise<boolean> {
  const [committed, ends] = await Promise.all([
    admin.committedOffsets(group, topic),
    admin.topicOffsets(topic),
  ]);
  return ends.every(
    ({ partition, high }) => committed.find((c) => c.partition === partition)?.offset === high,
  );
}

export async function runSluiceProcessor(options: ProcessorRunOptions): Promise<ProcessorRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const stateDir = options.stateDir ?? join(dir, 'state');
  const config = writeBenchConfig(dir, options, stateDir);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      join(repo, 'bin', 'sluice.js'),
      'processor',
      '--app',
      join(repo, 'apps', 'api-analytics.ts'),
      '--app-id',
      options.appId,
      '--config',
      config,
      '--guarantee',
      options.guarantee,
      '--commit-interval-ms',
      String(options.commitIntervalMs),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  let stats = processStats(child.pid!);
  const deadline = started + (options.timeoutMs ?? 600_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`processor exited early:\n${output.slice(-2000)}`);
      stats = processStats(child.pid!) ?? stats;
      if (await caughtUp(options.admin, options.appId, options.inputTopic)) break;
      if (Date.now() > deadline) throw new Error('processor did not catch up in time');
      await sleep(100);
    }
    const seconds = (Date.now() - started) / 1000;
    stats = processStats(child.pid!) ?? stats;
    return {
      seconds,
      cpuSeconds: stats?.cpuSeconds ?? 0,
      peakRssMb: stats?.peakRssMb ?? 0,
      output,
      stateDir,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    if (!options.stateDir) rmSync(dir, { recursive: true, force: true });
  }
}
