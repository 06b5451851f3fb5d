import { describe, expect, it } from 'vitest';
import { lastCounts, probeKeys } from '../../../bench/lib/count-output.ts';

describe('probeKeys', () => {
  it('spreads the probe over the whole key range', () => {
    expect(probeKeys(1000, 4)).toEqual([0, 250, 500, 750]);
    expect(probeKeys(1_000_000, 1000).at(-1)).toBe(999_000);
  });

  it('probes every key when there are fewer keys than the probe size', () => {
    expect(probeKeys(3, 10)).toEqual([0, 1, 2]);
  });
});

describe('lastCounts', () => {
  it("gives each key's last count, in output order", () => {
    const { finals, problems } = lastCounts([
      { key: 'a', count: 2 },
      { key: 'b', count: 5 },
      { key: 'a', count: 3 },
    ]);
    expect(finals).toEqual([
      { key: 'a', count: 3 },
      { key: 'b', count: 5 },
    ]);
    expect(problems).toEqual([]);
  });

  it('names a count that does not rise (a record applied twice)', () => {
    expect(
      lastCounts([
        { key: 'a', count: 3 },
        { key: 'a', count: 3 },
      ]).problems,
    ).toEqual(['key a: count 3 after 3']);
  });
});
