/**
 * A FETCH response decoder for readers that need each record's key and value only (changelog
 * restore): the record batches (magic 2) are walked in place, keys and values are views of the
 * response buffer, and nothing else of a record is parsed (its timestamp, offset string, headers:
 * what kafkajs builds per record, and most of what a restore spent its time on). The visible set is
 * kafkajs' (with our patches; `toConsumedBatch` in kafkajs-fetch.ts): records from the fetched
 * offset on, control records dropped, records of aborted transactions dropped by the same rule
 * (filterAbortedMessages.js), and the position after the last whole batch.
 *
 * Anything else (an older message format, a codec other than none and gzip) returns undefined, and
 * the caller decodes that partition with kafkajs instead (test/integration/kafka/key-value-fetch.test.ts
 * compares both on the same topics).
 */
import { gunzipSync } from 'node:zlib';

/** Keys and values of the visible records, in offset order; a null value is a tombstone. */
export interface KeyValues {
  keys: (Buffer | null)[];
  values: (Buffer | null)[];
}

/** FETCH v11 (what kafkajs 2.2.4 speaks to Kafka ≥ 2.3) with each partition's record set as bytes. */
export interface RawFetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions: { producerId: string; firstOffset: string }[];
  recordSet: Buffer | null;
}

export interface RawFetchResponse {
  throttleTime: number;
  clientSideThrottleTime: number;
  errorCode: number;
  sessionId: number;
  responses: { topicName: string; partitions: RawFetchPartition[] }[];
}

const RECORD_BATCH_HEADER = 61;
const BATCH_LENGTH_OFFSET = 8;
const MAGIC_OFFSET = 16;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const PRODUCER_ID_OFFSET = 43;
const RECORD_COUNT_OFFSET = 57;
const CODEC_MASK = 0x07;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const GZIP = 1;

/** A cursor over a buffer: zig-zag varints as Kafka's record format writes them. */
class Cursor {
  readonly buffer: Buffer;
  at = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.at++]!;
      // lengths and deltas of a record fit 32 bits; multiplication keeps bit 31 exact
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  /** A varlong we do not need (the timestamp delta): stepped over. */
  skipVarint(): void {
    while ((this.buffer[this.at++]! & 0x80) !== 0);
  }

  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const view = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }
}

/**
 * The visible keys and values of one partition's record set read from `fetchedOffset`, and the
 * offset after its last whole batch; undefined when the set holds what this decoder does not read.
 */
export function decodeKeyValues(
  recordSet: Buffer | null,
  fetchedOffset: string,
  abortedTransactions: readonly { producerId: string; firstOffset: string }[],
): (KeyValues & { batchesEnd: string | undefined }) | undefined {
  const keys: (Buffer | null)[] = [];
  const values: (Buffer | null)[] = [];
  let batchesEnd: string | undefined;
  if (!recordSet) return { keys, values, batchesEnd };
  const from = Number(fetchedOffset);
  // the broker lists aborted transactions as they ended: entered by first offset, as kafkajs does
  const aborted = [...abortedTransactions]
    .map((entry) => ({ producerId: BigInt(entry.producerId), firstOffset: Number(entry.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const inAborted = new Set<bigint>();
  let pos = 0;
  while (pos + RECORD_BATCH_HEADER <= recordSet.length) {
    const baseOffset = Number(recordSet.readBigInt64BE(pos));
    const end = pos + 12 + recordSet.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    // the response may end inside a batch (maxBytes): that batch comes with the next fetch
    if (end > recordSet.length) break;
    if (recordSet[pos + MAGIC_OFFSET] !== 2) return undefined;
    const attributes = recordSet.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const codec = attributes & CODEC_MASK;
    if (codec !== 0 && codec !== GZIP) return undefined;
    const transactional = (attributes & TRANSACTIONAL_FLAG) !== 0;
    const control = (attributes & CONTROL_FLAG) !== 0;
    const producerId = recordSet.readBigInt64BE(pos + PRODUCER_ID_OFFSET);
    const count = recordSet.readInt32BE(pos + RECORD_COUNT_OFFSET);
    const body = recordSet.subarray(pos + RECORD_BATCH_HEADER, end);
    const records = new Cursor(codec === GZIP ? gunzipSync(body) : body);
    for (let index = 0; index < count; index++) {
      const length = records.varint();
      const next = records.at + length;
      records.at += 1; // attributes
      records.skipVarint(); // timestamp delta
      const offset = baseOffset + records.varint();
      if (offset >= from) {
        while (aborted.length > 0 && offset >= aborted[0]!.firstOffset)
          inAborted.add(aborted.shift()!.producerId);
        const key = records.bytes();
        if (control) {
          // an ABORT marker (key: version 0, type 0) ends the producer's aborted transaction
          if (key !== null && key.length === 4 && key.readInt32BE(0) === 0) inAborted.delete(producerId);
        } else if (!(transactional && inAborted.has(producerId))) {
          keys.push(key);
          values.push(records.bytes());
        }
      }
      records.at = next;
    }
    batchesEnd = String(baseOffset + recordSet.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET) + 1);
    pos = end;
  }
  return { keys, values, batchesEnd };
}

/**
 * Decodes a FETCH v11 response, leaving each partition's record set as bytes (kafkajs' own
 * decoder would parse every record). Layout: Kafka's protocol guide, FetchResponse v11.
 */
export function decodeRawFetchV11(data: Buffer): RawFetchResponse {
  let at = 0;
  const int16 = () => {
    const value = data.readInt16BE(at);
    at += 2;
    return value;
  };
  const int32 = () => {
    const value = data.readInt32BE(at);
    at += 4;
    return value;
  };
  const int64 = () => {
    const value = data.readBigInt64BE(at);
    at += 8;
    return value.toString();
  };
  const array = <T>(item: () => T): T[] => {
    const length = int32();
    return length < 0 ? [] : Array.from({ length }, item);
  };
  const clientSideThrottleTime = int32();
  const errorCode = int16();
  const sessionId = int32();
  const responses = array(() => {
    const nameLength = int16();
    const topicName = data.toString('utf8', at, at + nameLength);
    at += nameLength;
    const partitions = array((): RawFetchPartition => {
      const partition = int32();
      const partitionError = int16();
      const highWatermark = int64();
      const lastStableOffset = int64();
      int64(); // log start offset
      const abortedTransactions = array(() => ({ producerId: int64(), firstOffset: int64() }));
      int32(); // preferred read replica
      const size = int32();
      // a view, not a copy: the keys and values handed on are views of it too
      const recordSet = size < 0 ? null : data.subarray(at, at + size);
      at += Math.max(0, size);
      return {
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        abortedTransactions,
        recordSet,
      };
    });
    return { topicName, partitions };
  });
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}
