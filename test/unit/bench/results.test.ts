import { describe, expect, it } from 'vitest';
import { comparableRatio } from '../../../bench/lib/results.ts';

describe('comparableRatio', () => {
  const side = (name: string, startupMs: number, spanMs: number) => ({ name, startupMs, spanMs });

  it('keeps the ratio when every start-up is under 10 % of its span', () => {
    expect(
      comparableRatio(1.2, {
        quick: false,
        startups: [side('sluice', 900, 20_000), side('peer', 1999, 20_000)],
      }),
    ).toEqual({
      ratio: 1.2,
    });
  });

  it('withholds it in a quick run, and says so', () => {
    const result = comparableRatio(18.9, { quick: true });
    expect(result.ratio).toBeNaN();
    expect(result.withheld).toMatch(/quick run/);
  });

  it('keeps it with a caution when a start-up weighs 10 % or more of a span, naming the side', () => {
    const result = comparableRatio(12.2, {
      quick: false,
      startups: [side('sluice', 500, 20_000), side('Kafka Streams', 3000, 2500)],
    });
    expect(result.ratio).toBe(12.2);
    expect(result.withheld).toBeUndefined();
    expect(result.caution).toMatch(
      /^start-up \(not timed\) is ≥ 10 % of the measured span for Kafka Streams \(3000 ms vs 2500 ms\)/,
    );
  });
});
