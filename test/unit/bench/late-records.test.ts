import { describe, expect, it } from 'vitest';
import { closingTime, contentIdentity, withoutEach } from '../../../bench/lib/late-records.ts';

const byText = { all: (text: string) => text, removed: (text: string) => text };

describe('withoutEach: the input without the records an engine named late', () => {
  it('removes one occurrence per named record, keeping order and the other copies', () => {
    expect(withoutEach(['a', 'b', 'a', 'c', 'a'], ['a', 'c'], byText)).toEqual(['b', 'a', 'a']);
    expect(withoutEach(['a', 'b', 'a'], ['a', 'a'], byText)).toEqual(['b']);
    expect(withoutEach(['a'], [], byText)).toEqual(['a']);
  });

  it('matches records of different shapes by their keys', () => {
    const events = [
      { tenant: 't1', time: 5 },
      { tenant: 't2', time: 5 },
    ];
    const late = [{ who: 't2', at: 5 }];
    expect(
      withoutEach(events, late, {
        all: (event) => `${event.tenant}|${event.time}`,
        removed: (record) => `${record.who}|${record.at}`,
      }),
    ).toEqual([{ tenant: 't1', time: 5 }]);
  });

  it('refuses a late record the input does not hold, or holds fewer times', () => {
    expect(() => withoutEach(['a'], ['b'], byText)).toThrow(/1 late record\(s\) not in the input, e.g. b/);
    expect(() => withoutEach(['a'], ['a', 'a'], byText)).toThrow(/1 late record/);
  });
});

describe('contentIdentity', () => {
  it('is the same for equal records whatever their field order, different for any other field value', () => {
    expect(contentIdentity({ a: 1, b: 'x' })).toBe(contentIdentity({ b: 'x', a: 1 }));
    expect(contentIdentity({ a: 1, b: 'x' })).not.toBe(contentIdentity({ a: 2, b: 'x' }));
  });
});

describe('closingTime', () => {
  it('is the end of the last event’s window plus grace: that window and every earlier one close', () => {
    expect(closingTime(125_000, 60_000, 10_000)).toBe(190_000);
    // an event on a window's first millisecond opens that window
    expect(closingTime(120_000, 60_000, 10_000)).toBe(190_000);
    expect(closingTime(119_999, 60_000, 10_000)).toBe(130_000);
  });
});
