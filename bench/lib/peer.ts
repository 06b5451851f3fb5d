/** The Kafka Streams peer (bench/peers/kafka-streams): built with Maven when stale, run as a process. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from '../../dev/processes.ts';
import { processStats } from './process-stats.ts';
import { type RunningProcess, spawnProcess } from './sluice-processor-run.ts';

const peerDir = join(import.meta.dirname, '..', 'peers', 'kafka-streams');
const jar = join(peerDir, 'target', 'kafka-streams-peer.jar');

/** The newest modification time of the peer's sources and pom. */
function sourcesChangedAt(): number {
  const files = readdirSync(join(peerDir, 'src'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  return Math.max(...[join(peerDir, 'pom.xml'), ...files].map((file) => statSync(file).mtimeMs));
}

export async function ensurePeerJar(log: (message: string) => void): Promise<string> {
  if (!existsSync(jar) || statSync(jar).mtimeMs < sourcesChangedAt()) {
    log('building the Kafka Streams peer with Maven');
    await runCommand('mvn', ['-q', '-B', '-f', join(peerDir, 'pom.xml'), 'package', '-DskipTests'], {
      what: 'building bench/peers/kafka-streams',
    });
  }
  return jar;
}

/**
 * The group session budget of sluice's processors (6 s), for peers whose restarts are compared
 * with sluice's: a restarted instance waits for the dead member to leave the group.
 */
export const peerSessionFlags = { 'session-timeout-ms': 6000, 'heartbeat-interval-ms': 1500 };

export function spawnPeer(mode: string, flags: Record<string, string | number>): RunningProcess {
  const args = ['-Xms512m', '-Xmx2g', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', jar, mode];
  for (const [name, value] of Object.entries(flags)) args.push(`--${name}`, String(value));
  return spawnProcess('java', args);
}

/** The JSON lines the peer printed so far. */
export function peerEvents(process: RunningProcess): Record<string, unknown>[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{"event"'))
    .map((line) => JSON.parse(line));
}

/** Waits for a peer event, tracking the process's CPU and peak memory meanwhile. */
export async function waitForPeerEvent(
  process: RunningProcess,
  event: string,
  timeoutMs = 900_000,
): Promise<{ event: Record<string, unknown>; cpuSeconds: number; peakRssMb: number }> {
  const deadline = Date.now() + timeoutMs;
  let stats = processStats(process.child.pid!);
  for (;;) {
    stats = processStats(process.child.pid!) ?? stats;
    const found = peerEvents(process).find((entry) => entry.event === event);
    if (found) return { event: found, cpuSeconds: stats?.cpuSeconds ?? 0, peakRssMb: stats?.peakRssMb ?? 0 };
    if (process.exited())
      throw new Error(`the peer exited before "${event}":\n${process.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`the peer did not report "${event}" in time`);
    await sleep(100);
  }
}
