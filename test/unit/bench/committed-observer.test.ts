import { describe, expect, it } from 'vitest';
import { committedProgress } from '../../../bench/lib/committed-observer.ts';

const topic = (committed: [number, string][], ends: [number, string][]) => ({
  topic: 't',
  committed: committed.map(([partition, offset]) => ({ partition, offset })),
  ends: ends.map(([partition, high]) => ({ partition, high })),
});

describe('committedProgress', () => {
  it('sums committed offsets and is caught up when every partition reached its end', () => {
    expect(
      committedProgress([
        topic(
          [
            [0, '10'],
            [1, '5'],
          ],
          [
            [0, '10'],
            [1, '5'],
          ],
        ),
      ]),
    ).toEqual({
      done: 15,
      caughtUp: true,
    });
  });

  it('is not caught up while a partition lags or has no commit yet', () => {
    expect(
      committedProgress([
        topic(
          [
            [0, '10'],
            [1, '4'],
          ],
          [
            [0, '10'],
            [1, '5'],
          ],
        ),
      ]),
    ).toEqual({
      done: 14,
      caughtUp: false,
    });
    expect(
      committedProgress([
        topic(
          [
            [0, '10'],
            [1, '-1'],
          ],
          [
            [0, '10'],
            [1, '5'],
          ],
        ),
      ]),
    ).toEqual({
      done: 10,
      caughtUp: false,
    });
    expect(
      committedProgress([
        topic(
          [[0, '10']],
          [
            [0, '10'],
            [1, '5'],
          ],
        ),
      ]).caughtUp,
    ).toBe(false);
  });

  it('needs every topic (a repartition topic too) caught up, an empty partition needs nothing', () => {
    const input = topic([[0, '10']], [[0, '10']]);
    expect(committedProgress([input, topic([[0, '3']], [[0, '7']])]).caughtUp).toBe(false);
    expect(committedProgress([input, topic([[0, '7']], [[0, '7']])])).toEqual({ done: 17, caughtUp: true });
    expect(committedProgress([topic([[0, '-1']], [[0, '0']])])).toEqual({ done: 0, caughtUp: true });
  });

  it("allows internal topics (never the input) to end one offset short: a transaction's last commit marker", () => {
    const internal = topic([[0, '6']], [[0, '7']]);
    expect(committedProgress([topic([[0, '10']], [[0, '10']]), internal], 1).caughtUp).toBe(true);
    expect(committedProgress([topic([[0, '10']], [[0, '10']]), internal], 0).caughtUp).toBe(false);
    expect(committedProgress([topic([[0, '9']], [[0, '10']]), internal], 1).caughtUp).toBe(false);
  });
});
