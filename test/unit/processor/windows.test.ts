import { describe, expect, it } from 'vitest';
import {
  closeTimeOf,
  type HoppingSpec,
  isLateForSession,
  mergeSession,
  openWindowsFor,
  type SessionSpec,
  sessionCloseTime,
  type TumblingSpec,
  windowsFor,
} from '../../../processor/windows/windows.ts';

const minute = 60_000;
const tumbling: TumblingSpec = { kind: 'tumbling', sizeMs: minute, graceMs: 10_000 };
const hopping: HoppingSpec = { kind: 'hopping', sizeMs: minute, advanceMs: 20_000, graceMs: 5_000 };
const session: SessionSpec = { kind: 'session', gapMs: 30_000, graceMs: 10_000 };

describe('tumbling windows', () => {
  it('puts a record in the one window [floor(ts/size)*size, +size), start inclusive, end exclusive', () => {
    expect(windowsFor(tumbling, 0)).toEqual([{ start: 0, end: minute }]);
    expect(windowsFor(tumbling, minute - 1)).toEqual([{ start: 0, end: minute }]);
    expect(windowsFor(tumbling, minute)).toEqual([{ start: minute, end: 2 * minute }]);
    expect(windowsFor(tumbling, 1_700_000_123_456)).toEqual([
      { start: 1_700_000_100_000, end: 1_700_000_160_000 },
    ]);
  });

  it('closes a window when stream time reaches end + grace, not before', () => {
    const window = { start: 0, end: minute };
    expect(closeTimeOf(tumbling, window)).toBe(minute + 10_000);
    expect(openWindowsFor(tumbling, 30_000, minute + 9_999)).toEqual([window]);
    expect(openWindowsFor(tumbling, 30_000, minute + 10_000)).toEqual([]);
  });

  it('accepts out-of-order records within grace and refuses them after', () => {
    // stream time is in the next window, but the previous one is still within its grace
    expect(openWindowsFor(tumbling, 59_999, 65_000)).toEqual([{ start: 0, end: minute }]);
    expect(openWindowsFor(tumbling, 0, 70_000)).toEqual([]);
    // a record ahead of stream time is never late
    expect(openWindowsFor(tumbling, 200_000, 70_000)).toEqual([{ start: 180_000, end: 240_000 }]);
  });
});

describe('hopping windows', () => {
  it('puts a record in every window that contains it, oldest first', () => {
    expect(windowsFor(hopping, 45_000)).toEqual([
      { start: 0, end: 60_000 },
      { start: 20_000, end: 80_000 },
      { start: 40_000, end: 100_000 },
    ]);
    // on a boundary: belongs to the window starting there, not the one ending there
    expect(windowsFor(hopping, 60_000)).toEqual([
      { start: 20_000, end: 80_000 },
      { start: 40_000, end: 100_000 },
      { start: 60_000, end: 120_000 },
    ]);
    // near the epoch only windows starting at or after 0 exist
    expect(windowsFor(hopping, 5_000)).toEqual([{ start: 0, end: 60_000 }]);
  });

  it('drops the closed windows of a record and keeps the open ones', () => {
    // at stream time 85 s the window [0, 60 s) is closed (60 + 5), [20, 80) too (80 + 5), [40, 100) is open
    expect(openWindowsFor(hopping, 45_000, 85_000)).toEqual([{ start: 40_000, end: 100_000 }]);
    expect(openWindowsFor(hopping, 45_000, 105_000)).toEqual([]);
  });
});

describe('session windows', () => {
  it('starts a new session for a record far from every other', () => {
    expect(mergeSession(session, 100_000, [{ start: 0, end: 10_000 }])).toEqual({
      merged: { start: 100_000, end: 100_000 },
      replaced: [],
    });
  });

  it('extends a session by a record within the gap, on either side', () => {
    expect(mergeSession(session, 40_000, [{ start: 0, end: 10_000 }]).merged).toEqual({
      start: 0,
      end: 40_000,
    });
    expect(mergeSession(session, 40_001, [{ start: 0, end: 10_000 }]).replaced).toEqual([]);
    expect(mergeSession(session, 0, [{ start: 30_000, end: 50_000 }]).merged).toEqual({
      start: 0,
      end: 50_000,
    });
  });

  it('merges two sessions that a record bridges', () => {
    const result = mergeSession(session, 50_000, [
      { start: 0, end: 25_000 },
      { start: 75_000, end: 90_000 },
      { start: 500_000, end: 500_000 },
    ]);
    expect(result.merged).toEqual({ start: 0, end: 90_000 });
    expect(result.replaced).toEqual([
      { start: 0, end: 25_000 },
      { start: 75_000, end: 90_000 },
    ]);
  });

  it('closes a session gap + grace after its last record, and calls records late accordingly', () => {
    expect(sessionCloseTime(session, { start: 0, end: 10_000 })).toBe(50_000);
    expect(isLateForSession(session, 10_000, 49_999)).toBe(false);
    expect(isLateForSession(session, 10_000, 50_000)).toBe(true);
  });
});
