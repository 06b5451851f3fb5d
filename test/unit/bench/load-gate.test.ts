import { describe, expect, it } from 'vitest';
import {
  busyShare,
  type GateOptions,
  MachineBusyError,
  type MachineLoad,
  parseCpuTicks,
  waitForQuietMachine,
} from '../../../bench/lib/load-gate.ts';

describe('parseCpuTicks and busyShare', () => {
  const stat = (line: string) => `${line}\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n`;

  it('counts idle and iowait as idle, everything else as busy', () => {
    expect(parseCpuTicks(stat('cpu  100 10 50 300 20 1 2 3 0 0'))).toEqual({ busy: 166, idle: 320 });
  });

  it('gives the busy share of all cores between two samples', () => {
    const before = parseCpuTicks(stat('cpu  100 0 100 1000 0 0 0 0 0 0'));
    const after = parseCpuTicks(stat('cpu  250 0 200 1150 0 0 0 0 0 0'));
    expect(busyShare(before, after)).toBeCloseTo(250 / 400);
    expect(busyShare(after, after)).toBe(0);
  });

  it('refuses a /proc/stat without the aggregate line', () => {
    expect(() => parseCpuTicks('cpu0 1 2 3 4\n')).toThrow(/no aggregate "cpu" line/);
  });
});

describe('waitForQuietMachine', () => {
  /** A fake machine: the given busy shares in turn, a clock moved by the pauses. */
  function fake(shares: number[]) {
    let clock = 0;
    const logged: string[] = [];
    const options: GateOptions = {
      maxBusy: 0.25,
      giveUpAfterMs: 60_000,
      sampleMs: 2000,
      log: (message) => logged.push(message),
      measure: async (sampleMs): Promise<MachineLoad> => {
        clock += sampleMs;
        return { busy: shares.shift() ?? 1, load1: 1.5, cores: 2 };
      },
      now: () => clock,
      pause: async (ms) => {
        clock += ms;
      },
    };
    return { options, logged, clock: () => clock };
  }

  it('returns the first quiet sample at once', async () => {
    const machine = fake([0.1]);
    await expect(waitForQuietMachine('run 1', machine.options)).resolves.toMatchObject({ busy: 0.1 });
    expect(machine.logged).toEqual([]);
  });

  it('waits while busy, says so once, and starts when the machine quiets down', async () => {
    const machine = fake([0.9, 0.8, 0.2]);
    const load = await waitForQuietMachine('run 1', machine.options);
    expect(load.busy).toBe(0.2);
    expect(machine.logged).toHaveLength(1);
    expect(machine.logged[0]).toMatch(/run 1 waits, 90 % of 2 cores busy/);
  });

  it('refuses the run with what it saw when the machine stays busy', async () => {
    const machine = fake(Array(100).fill(0.6));
    const error = await waitForQuietMachine('aggregation run 2', machine.options).catch((e) => e);
    expect(error).toBeInstanceOf(MachineBusyError);
    expect(error.message).toMatch(/refusing to run aggregation run 2: the machine stayed busy for 60 s/);
    expect(error.message).toMatch(/60 % of 2 cores busy, load average 1.5; the limit is 25 %/);
    expect(machine.clock()).toBeGreaterThanOrEqual(60_000);
  });
});
