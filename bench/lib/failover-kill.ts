/**
 * One measured failover: SIGKILL a process and time, from the kill, the first committed output
 * past the ends at the kill on the partitions it owned, seen by the shared output watch. Also the
 * two things every kill records beside its figure: the machine's load and the random delay that
 * keeps kill timings from being chosen for convenience.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutputWatch } from './output-watch.ts';
import type { RunningProcess } from './sluice-processor-run.ts';

/** Longer than Kafka Streams' default session timeout plus its transaction abort. */
const takeoverTimeoutMs = 180_000;

export async function killAndTime(
  watch: OutputWatch,
  victim: RunningProcess,
  partitions: readonly number[],
): Promise<{ ms: number; killedAt: number }> {
  // kill first: a record past the ends read after the victim is gone and committed can only come
  // from the successor (the victim's open transaction is aborted, never committed)
  const killedAt = Date.now();
  await victim.kill();
  const marks = await watch.ends(partitions);
  const seenAt = await watch.firstPast(marks, takeoverTimeoutMs);
  if (seenAt === undefined)
    throw new Error(`no committed output on partitions ${partitions.join(',')} within 180 s of the kill`);
  return { ms: seenAt - killedAt, killedAt };
}

/** Waits a uniformly random time below `periodMs` (the renewal or heartbeat period); returns it. */
export async function randomDelay(periodMs: number): Promise<number> {
  const delay = Math.floor(Math.random() * periodMs);
  await sleep(delay);
  return delay;
}

/** The 1-minute load average, as `uptime` shows it. */
export const loadNow = () => Math.round(loadavg()[0]! * 100) / 100;
