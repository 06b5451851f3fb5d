/** CPU seconds and peak resident memory of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

export interface ProcessStats {
  cpuSeconds: number;
  peakRssMb: number;
}

export function processStats(pid: number): ProcessStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces) start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds: (utime + stime) / ticksPerSecond, peakRssMb: hwm ? Number(hwm[1]) / 1024 : 0 };
  } catch {
    return undefined;
  }
}

/**
 * The figures of several processes over a run (some killed, some restarted): the last reading of
 * each process, taken before it is killed or stopped (VmHWM is its peak so far).
 */
export function createProcessTally() {
  const last = new Map<number, ProcessStats>();
  return {
    sample(pid: number | undefined): void {
      if (pid === undefined) return;
      const stats = processStats(pid);
      if (stats) last.set(pid, stats);
    },
    /** The largest peak RSS of any process, and the CPU of all of them together. */
    totals(): ProcessStats {
      const all = [...last.values()];
      return {
        peakRssMb: Math.max(0, ...all.map((stats) => stats.peakRssMb)),
        cpuSeconds: all.reduce((sum, stats) => sum + stats.cpuSeconds, 0),
      };
    },
  };
}
