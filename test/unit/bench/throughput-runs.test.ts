import { describe, expect, it } from 'vitest';
import { describeRuns, type Run, spreadLine } from '../../../bench/lib/throughput-runs.ts';

const run = (recordsPerSecond: number, failed = false): Run => ({
  startupMs: 1000,
  spanMs: 10_000,
  records: recordsPerSecond * 10,
  recordsPerSecond,
  cpuSecondsInSpan: 5,
  cpuSecondsPerMillion: 50,
  peakRssMb: 300,
  load: { load1: 1, busy: 0.1 } as Run['load'],
  verified: failed ? 'FAILED: 3 missing' : 'equal',
  ...(failed ? { failed } : {}),
});

describe('describeRuns', () => {
  it('takes the median and spread of the runs whose output was right, and lists every run', () => {
    const figure = describeRuns([run(10_000), run(99_000, true), run(12_000), run(11_000)]);
    expect(figure.recordsPerSecond).toEqual({ median: 11_000, min: 10_000, max: 12_000 });
    expect(figure.failedRuns).toBe(1);
    expect(figure.perRun.map((entry) => entry.verified)).toEqual([
      'equal',
      'FAILED: 3 missing',
      'equal',
      'equal',
    ]);
    expect(spreadLine(figure)).toBe(
      '11,000 records/s (10,000–12,000), 50 CPU-s per M records, peak RSS 300 MB; 1 run(s) with a wrong output not counted',
    );
  });

  it('has no figure when every run failed', () => {
    expect(describeRuns([run(10_000, true)]).recordsPerSecond.median).toBeNaN();
  });
});
