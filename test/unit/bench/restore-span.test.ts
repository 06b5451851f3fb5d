import { describe, expect, it } from 'vitest';
import { peerRestores, restoreSpan, sluiceRestores } from '../../../bench/lib/restore-span.ts';

const restore = (partition: number, startedAt: number, endedAt: number, records = 10) => ({
  partition,
  startedAt,
  endedAt,
  records,
});

describe('restoreSpan', () => {
  it('spans from the first partition start to the last partition end, not the slowest partition alone', () => {
    const span = restoreSpan(
      [restore(0, 1000, 3000), restore(1, 1500, 5000), restore(2, 4000, 4500)],
      [0, 1, 2],
    );
    expect(span).toEqual({ spanMs: 4000, records: 30, partitions: 3, slowestPartitionMs: 3500 });
  });

  it("takes each partition's latest restore", () => {
    expect(restoreSpan([restore(0, 0, 100, 5), restore(0, 1000, 1200, 7)], [0])).toMatchObject({
      spanMs: 200,
      records: 7,
    });
  });

  it('refuses a restore missing a partition', () => {
    expect(() => restoreSpan([restore(0, 0, 100)], [0, 1, 2])).toThrow(
      'no finished restore for partition(s) 1, 2',
    );
  });
});

describe('the engines report their restores the same way', () => {
  it('reads sluice\'s "restore finished" lines', () => {
    const output = [
      '{"level":30,"time":5000,"partition":1,"done":40,"durationMs":1500,"msg":"restoring"}',
      '{"level":30,"time":6000,"partition":1,"done":50,"durationMs":2500,"msg":"restore finished"}',
      'not json',
    ].join('\n');
    expect(sluiceRestores(output)).toEqual([restore(1, 3500, 6000, 50)]);
  });

  it("reads the peer's restore events", () => {
    expect(
      peerRestores([
        { event: 'running' },
        { event: 'restore', partition: 2, startedAt: 10, endedAt: 30, records: 9 },
      ]),
    ).toEqual([restore(2, 10, 30, 9)]);
  });
});
