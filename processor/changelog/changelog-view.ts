/** Changelog records made readable: what a store key and value mean, for dump and verify. */
import type { IncomingRecord } from '../../common/kafka/index.ts';
import { decodeKey } from '../state/key-codec.ts';
import { changelogHeaders } from './changelog-records.ts';

export interface ChangelogEntry {
  partition: number;
  offset: string;
  /** kind: meta | window | table | sessions */
  kind: string;
  /** The group's values (or the metadata name). */
  key: unknown;
  windowStart?: number;
  /** The decoded value; null for a tombstone. */
  value: unknown;
  sourceOffset?: string;
  epoch?: number;
}

export function describeValue(kind: string, value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString('utf8');
  if (kind === 'meta') return text;
  try {
    return JSON.parse(text);
  } catch {
    return `(undecodable: ${value.toString('hex').slice(0, 40)})`;
  }
}

export function toChangelogEntry(record: IncomingRecord): ChangelogEntry {
  const decoded = record.key ? decodeKey(record.key) : { kind: 'unknown', group: null };
  const epoch = record.headers[changelogHeaders.epoch]?.toString();
  return {
    partition: record.partition,
    offset: record.offset,
    kind: decoded.kind,
    key: decoded.group,
    ...('start' in decoded && decoded.start !== undefined ? { windowStart: decoded.start } : {}),
    value: describeValue(decoded.kind, record.value),
    sourceOffset: record.headers[changelogHeaders.sourceOffset]?.toString(),
    epoch: epoch === undefined ? undefined : Number(epoch),
  };
}
