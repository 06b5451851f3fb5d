/**
 * The load gate: before each timed run the machine must be quiet, or the figures measure the
 * neighbours. Busy = the share of all cores not idle over a short sample of /proc/stat (what is
 * running now; the load average lags a minute behind, so it is recorded, not used to decide).
 * A busy machine is waited for, then the run is refused with what was seen.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Cumulative CPU ticks of the whole machine (the first line of /proc/stat). */
export interface CpuTicks {
  busy: number;
  idle: number;
}

/** Parses the aggregate `cpu` line of /proc/stat: idle and iowait are idle, the rest is busy. */
export function parseCpuTicks(procStat: string): CpuTicks {
  const line = procStat.split('\n').find((entry) => entry.startsWith('cpu '));
  if (!line) throw new Error('no aggregate "cpu" line in /proc/stat');
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks;
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
}

/** The busy share (0..1 of all cores) between two samples. */
export function busyShare(before: CpuTicks, after: CpuTicks): number {
  const busy = after.busy - before.busy;
  const total = busy + after.idle - before.idle;
  return total > 0 ? busy / total : 0;
}

export interface MachineLoad {
  /** Share of all cores busy over the sample, 0..1. */
  busy: number;
  /** 1-minute load average, as `uptime` shows it. */
  load1: number;
  cores: number;
}

export interface GateOptions {
  /** The highest busy share a run may start at (idle dev services use a few per cent). */
  maxBusy: number;
  /** How long to wait for a quiet machine before refusing the run. */
  giveUpAfterMs: number;
  sampleMs: number;
  log(message: string): void;
  /** Injected for tests: one sample of the machine's load over `sampleMs`. */
  measure?: (sampleMs: number) => Promise<MachineLoad>;
  now?: () => number;
  pause?: (ms: number) => Promise<void>;
}

export async function measureMachineLoad(sampleMs: number): Promise<MachineLoad> {
  const read = () => parseCpuTicks(readFileSync('/proc/stat', 'utf8'));
  const before = read();
  await sleep(sampleMs);
  return {
    busy: busyShare(before, read()),
    load1: Math.round(loadavg()[0]! * 100) / 100,
    cores: cpus().length,
  };
}

export class MachineBusyError extends Error {
  readonly what: string;
  readonly last: MachineLoad;

  constructor(what: string, last: MachineLoad, options: GateOptions) {
    super(
      `refusing to run ${what}: the machine stayed busy for ${Math.round(options.giveUpAfterMs / 1000)} s ` +
        `(last sample ${Math.round(last.busy * 100)} % of ${last.cores} cores busy, load average ${last.load1}; ` +
        `the limit is ${Math.round(options.maxBusy * 100)} %). Stop the other work and run again, ` +
        'or pass --max-busy to accept a busier machine (its figures will say so).',
    );
    this.name = 'MachineBusyError';
    this.what = what;
    this.last = last;
  }
}

/**
 * Waits until the machine is quiet and returns the load it started at (recorded with the run);
 * throws MachineBusyError when it stays busy for `giveUpAfterMs`.
 */
export async function waitForQuietMachine(what: string, options: GateOptions): Promise<MachineLoad> {
  const measure = options.measure ?? measureMachineLoad;
  const now = options.now ?? Date.now;
  const pause = options.pause ?? ((ms: number) => sleep(ms));
  const deadline = now() + options.giveUpAfterMs;
  let announced = false;
  for (;;) {
    const load = await measure(options.sampleMs);
    if (load.busy <= options.maxBusy) return load;
    if (now() >= deadline) throw new MachineBusyError(what, load, options);
    if (!announced) {
      options.log(
        `load gate: ${what} waits, ${Math.round(load.busy * 100)} % of ${load.cores} cores busy ` +
          `(limit ${Math.round(options.maxBusy * 100)} %), load average ${load.load1}`,
      );
      announced = true;
    }
    await pause(5000);
  }
}
