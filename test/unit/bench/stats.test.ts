import { describe, expect, it } from 'vitest';
import { formatSummary, median, percentile, summary } from '../../../bench/lib/stats.ts';

describe('median', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([5])).toBe(5);
  });

  it('is the mean of the two middle values of an even count, not the smaller one', () => {
    expect(median([100, 200])).toBe(150);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is NaN without values', () => {
    expect(median([])).toBeNaN();
  });
});

describe('percentile', () => {
  it('returns a measured value by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
  });
});

describe('summary', () => {
  it('gives median and min–max of the runs', () => {
    expect(summary([3, 9, 1])).toEqual({ median: 3, min: 1, max: 9, runs: 3 });
    expect(summary([])).toMatchObject({ runs: 0 });
    expect(summary([]).median).toBeNaN();
  });

  it('formats as "median (min–max, n runs)"', () => {
    expect(formatSummary(summary([2, 4, 3]), (value) => `${value} s`)).toBe('3 s (2 s–4 s, 3 runs)');
  });
});
