import { describe, expect, it } from 'vitest';
import { describeDiff, diffOutputs } from '../../../bench/lib/output-diff.ts';

interface Row {
  tenant: string;
  window: number;
  requests: number;
  avg: number;
}
const row = (tenant: string, window: number, requests: number, avg = 1.5): Row => ({
  tenant,
  window,
  requests,
  avg,
});
const identity = (r: Row) => `${r.tenant}@${r.window}`;

describe('diffOutputs', () => {
  it('accepts the same records in any order and any field order', () => {
    const expected = [row('a', 0, 3), row('b', 0, 1)];
    const reordered = [{ avg: 1.5, requests: 1, window: 0, tenant: 'b' }, row('a', 0, 3)];
    const diff = diffOutputs(expected, reordered, identity);
    expect(diff).toMatchObject({ ok: true, expected: 2, actual: 2 });
    expect(describeDiff(diff)).toBe('equal to the expected output (2 records)');
  });

  it('names a different value, down to the field', () => {
    const diff = diffOutputs([row('a', 0, 3)], [row('a', 0, 4)], identity);
    expect(diff).toMatchObject({ ok: false, different: 1 });
    expect(diff.problems[0]).toBe(
      'a@0: expected {"avg":1.5,"requests":3,"tenant":"a","window":0}, got {"avg":1.5,"requests":4,"tenant":"a","window":0}',
    );
  });

  it('counts missing, unexpected and duplicated records (the counts alone could match)', () => {
    const diff = diffOutputs(
      [row('a', 0, 3), row('b', 0, 1), row('c', 0, 1)],
      [row('a', 0, 3), row('a', 0, 3), row('d', 0, 1)],
      identity,
    );
    expect(diff).toMatchObject({ ok: false, missing: 2, unexpected: 1, duplicated: 1, different: 0 });
    expect(diff.expected).toBe(diff.actual);
    expect(describeDiff(diff)).toMatch(
      /^differs from the expected output: 2 missing, 1 unexpected, 1 duplicated/,
    );
  });

  it('keeps only the first ten problems', () => {
    const expected = Array.from({ length: 50 }, (_, i) => row(`t${i}`, 0, 1));
    expect(diffOutputs(expected, [], identity).problems).toHaveLength(10);
  });
});
