/**
 * Store keys. The first byte says what a key holds; group keys are the JSON of the group's
 * values (JSON never contains a raw 0x00, so 0x00 ends the group part unambiguously); window
 * starts are 8-byte big-endian, so one group's windows sort by start and a group is a range.
 *
 *   0x00 name                     metadata (e.g. stream time)
 *   0x01 group 0x00 start         one fixed-size window of a group
 *   0x02 group                    a running aggregate (no window)
 *   0x03 group                    the sessions of a group
 *   0x04 join-key 0x00 time       one side of a stream–stream join: its records at that time
 */

export const keyKinds = { meta: 0x00, window: 0x01, table: 0x02, sessions: 0x03, joined: 0x04 } as const;
export type KeyKind = keyof typeof keyKinds;

export function encodeGroup(values: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify(values), 'utf8');
}

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.of(keyKinds.meta), Buffer.from(name, 'utf8')]);
}

export function windowKey(group: Buffer, start: number, kind: number = keyKinds.window): Buffer {
  const key = Buffer.allocUnsafe(group.length + 10);
  key[0] = kind;
  group.copy(key, 1);
  key[group.length + 1] = 0x00;
  key.writeBigUInt64BE(BigInt(start), group.length + 2);
  return key;
}

/** A join side's records of one join key at one time (the key as a one-value group, so it sorts by key then time). */
export function joinedKey(joinKey: string, time: number): Buffer {
  return windowKey(encodeGroup([joinKey]), time, keyKinds.joined);
}

export function tableKey(group: Buffer): Buffer {
  return Buffer.concat([Buffer.of(keyKinds.table), group]);
}

export function sessionsKey(group: Buffer): Buffer {
  return Buffer.concat([Buffer.of(keyKinds.sessions), group]);
}

export interface DecodedKey {
  kind: KeyKind;
  /** The group's values (for meta keys: the name). */
  group: unknown[] | string;
  /** Window start for window keys; the records' time for joined keys. */
  start?: number;
}

export function decodeKey(key: Buffer): DecodedKey {
  switch (key[0]) {
    case keyKinds.meta:
      return { kind: 'meta', group: key.subarray(1).toString('utf8') };
    case keyKinds.window:
    case keyKinds.joined: {
      const groupEnd = key.length - 9;
      return {
        kind: key[0] === keyKinds.window ? 'window' : 'joined',
        group: JSON.parse(key.subarray(1, groupEnd).toString('utf8')),
        start: Number(key.readBigUInt64BE(groupEnd + 1)),
      };
    }
    case keyKinds.table:
      return { kind: 'table', group: JSON.parse(key.subarray(1).toString('utf8')) };
    case keyKinds.sessions:
      return { kind: 'sessions', group: JSON.parse(key.subarray(1).toString('utf8')) };
    default:
      throw new Error(`unknown store key kind 0x${key[0]?.toString(16)}`);
  }
}

/** Bounds of every aggregation (non-meta) key, for full scans. */
export const dataKeyRange = { gte: Buffer.of(0x01), lt: Buffer.of(0x04) };
/** Bounds of every key of a join side's store. */
export const joinedKeyRange = { gte: Buffer.of(keyKinds.joined), lt: Buffer.of(keyKinds.joined + 1) };
