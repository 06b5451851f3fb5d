/**
 * How a partitioned table keeps every version of its rows in a task's store, so a join can read
 * a row as of an event's time. A version's store key is the row key (length-prefixed, so that no
 * key is a prefix of another's versions) followed by the version's timestamp, big-endian: the
 * versions of a row sort by time and "the last version at or before t" is the last entry of one
 * range. A version's value is a marker byte and the record's value: a row, or a deletion.
 */
import type { KeyValueStore } from '../state/store.ts';

const rowMarker = 1;
const deletedMarker = 0;

function rowPrefix(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The store key of `key`'s version written at `timestamp` (ms, ≥ 0). */
export function versionKey(key: string, timestamp: number): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp));
  return Buffer.concat([rowPrefix(key), time]);
}

/** A table record as a version: its value, or a deletion for a tombstone. */
export function versionValue(value: Buffer | null): Buffer {
  return value === null ? Buffer.from([deletedMarker]) : Buffer.concat([Buffer.from([rowMarker]), value]);
}

/**
 * Versions of `key` no lookup within the history needs any more: of those at or before `cutoff`
 * (the new version's time minus the history), all but the newest, which is still the row at the
 * cutoff. Lookups of times older than the cutoff then find no row (as Kafka Streams' versioned
 * stores answer beyond their history retention).
 */
export async function supersededVersions(
  store: KeyValueStore,
  key: string,
  cutoff: number,
): Promise<Buffer[]> {
  if (cutoff < 0) return [];
  const keys: Buffer[] = [];
  for await (const [versionAt] of store.range({ gte: versionKey(key, 0), lt: versionKey(key, cutoff + 1) })) {
    keys.push(versionAt);
  }
  return keys.slice(0, -1);
}

/**
 * The record value of `key`'s row as of `timestamp`: its last version at or before that time;
 * undefined when there is none or that version deletes the row.
 */
export async function rowAsOf(
  store: KeyValueStore,
  key: string,
  timestamp: number,
): Promise<Buffer | undefined> {
  let last: Buffer | undefined;
  for await (const [, value] of store.range({
    gte: versionKey(key, 0),
    lt: versionKey(key, timestamp + 1),
  })) {
    last = value;
  }
  return last === undefined || last[0] !== rowMarker ? undefined : last.subarray(1);
}
