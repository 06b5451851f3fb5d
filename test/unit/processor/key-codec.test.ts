import { describe, expect, it } from 'vitest';
import {
  decodeKey,
  encodeGroup,
  metaKey,
  sessionsKey,
  tableKey,
  windowKey,
} from '../../../processor/state/key-codec.ts';

describe('store key codec', () => {
  it('round-trips every kind of key', () => {
    const group = encodeGroup(['foo.com', 'payments', 3]);
    expect(decodeKey(windowKey(group, 1_700_000_040_000))).toEqual({
      kind: 'window',
      group: ['foo.com', 'payments', 3],
      start: 1_700_000_040_000,
    });
    expect(decodeKey(tableKey(group))).toEqual({ kind: 'table', group: ['foo.com', 'payments', 3] });
    expect(decodeKey(sessionsKey(group))).toEqual({ kind: 'sessions', group: ['foo.com', 'payments', 3] });
    expect(decodeKey(metaKey('stream-time'))).toEqual({ kind: 'meta', group: 'stream-time' });
  });

  it("sorts one group's windows by start, and never mixes groups that share a prefix", () => {
    const a = encodeGroup(['a']);
    const ab = encodeGroup(['a', 'b']);
    const keys = [
      windowKey(a, 120_000),
      windowKey(ab, 0),
      windowKey(a, 60_000),
      windowKey(a, 3_000_000_000_000),
    ];
    const sorted = [...keys].sort(Buffer.compare).map((key) => decodeKey(key));
    const ofA = sorted.filter((key) => JSON.stringify(key.group) === '["a"]').map((key) => key.start);
    expect(ofA).toEqual([60_000, 120_000, 3_000_000_000_000]);
    // group bytes never contain 0x00, so a group's keys are contiguous
    expect(encodeGroup(['x\u0000y']).includes(0)).toBe(false);
  });
});
