import { describe, expect, it } from 'vitest';
import { checkRunningCounts } from '../../../bench/lib/running-count-check.ts';

const outputs = (...pairs: [string, number][]) => pairs.map(([key, count]) => ({ key, count }));

describe('checkRunningCounts', () => {
  it('accepts every count in order, and counts with gaps (a cache coalescing updates)', () => {
    const input = ['a', 'b', 'a', 'a', 'b'];
    expect(checkRunningCounts(input, outputs(['a', 1], ['b', 1], ['a', 2], ['a', 3], ['b', 2])).ok).toBe(
      true,
    );
    const coalesced = checkRunningCounts(input, outputs(['a', 2], ['b', 2], ['a', 3]));
    expect(coalesced).toMatchObject({ ok: true, keys: 2, inputRecords: 5, outputRecords: 3 });
  });

  it('refuses a repeated count (a duplicate after a failover)', () => {
    const check = checkRunningCounts(['a', 'a'], outputs(['a', 1], ['a', 1], ['a', 2]));
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual(['key a: count 1 after 1 (a duplicate or a lost update)']);
  });

  it('refuses a final count below the input (loss) or above it (double counting)', () => {
    expect(checkRunningCounts(['a', 'a', 'a'], outputs(['a', 1], ['a', 2])).problems).toEqual([
      'key a: final count 2, input has 3 records',
    ]);
    expect(checkRunningCounts(['a'], outputs(['a', 1], ['a', 2])).problems).toEqual([
      'key a: final count 2, input has 1 records',
    ]);
  });

  it('refuses a key with no output, and output for a key never sent', () => {
    expect(checkRunningCounts(['a', 'b'], outputs(['a', 1], ['c', 1])).problems).toEqual([
      'key b: 1 input records, no output',
      'key c: output without any input record',
    ]);
  });
});
