/**
 * Avro `long` without loss over its whole range (−2^63 … 2^63−1), as avsc's documented custom
 * long type (`LongType.__with`). avsc's own long computes the zig-zag in floating point, which
 * flips the sign of values below −2^52 and cannot hold values beyond ±2^53; this one writes and
 * reads the varint itself: with plain numbers while the zig-zag stays below 2^53 (the common,
 * fast case), with BigInt beyond. In memory a long is a number when it is a safe integer and a
 * bigint otherwise; what a reader does with a value beyond the safe range is its choice
 * (`beyondSafe`).
 */
import avro from 'avsc';

export const minLong = -(2n ** 63n);
export const maxLong = 2n ** 63n - 1n;

/** A decoded long that a JS number cannot hold exactly, refused by a `refuse` type. */
export class UnsafeLongError extends Error {
  override readonly name = 'UnsafeLongError';
}

export interface ExactLongOptions {
  /**
   * What decoding does with a value beyond ±(2^53−1): return it as a bigint, or throw
   * UnsafeLongError (the processor's choice: the record becomes a dead letter).
   */
  beyondSafe: 'bigint' | 'refuse';
}

const isLong = (value: unknown): value is number | bigint =>
  typeof value === 'number'
    ? Number.isSafeInteger(value)
    : typeof value === 'bigint' && value >= minLong && value <= maxLong;

// Zig-zag values up to 2^53 are exact doubles: |n| ≤ 2^52 can use number arithmetic.
const numberPathLimit = 2 ** 52;
// one varint is at most 10 bytes; _toBuffer's result is copied out at once (Tap.writeFixed)
const scratch = Buffer.alloc(10);
// views of the scratch by length, so that writing a long allocates nothing
const scratchViews = Array.from({ length: 11 }, (_, length) => scratch.subarray(0, length));

function writeVarint(value: number | bigint): Buffer {
  let length = 0;
  if (typeof value === 'number' && value <= numberPathLimit && value >= -numberPathLimit) {
    let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
    while (zigzag >= 0x80) {
      scratch[length++] = (zigzag % 0x80) | 0x80;
      zigzag = Math.floor(zigzag / 0x80);
    }
    scratch[length++] = zigzag;
  } else {
    const big = BigInt(value);
    let zigzag = big >= 0n ? big << 1n : (-big << 1n) - 1n;
    while (zigzag >= 0x80n) {
      scratch[length++] = Number(zigzag & 0x7fn) | 0x80;
      zigzag >>= 7n;
    }
    scratch[length++] = Number(zigzag);
  }
  return scratchViews[length]!;
}

function readVarint(bytes: Buffer): number | bigint {
  // seven bytes carry 49 bits: the zig-zag and its halving stay exact in a double
  if (bytes.length <= 7) {
    let zigzag = 0;
    for (let index = bytes.length - 1; index >= 0; index--) zigzag = zigzag * 0x80 + (bytes[index]! & 0x7f);
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }
  let zigzag = 0n;
  for (let index = bytes.length - 1; index >= 0; index--)
    zigzag = (zigzag << 7n) | BigInt(bytes[index]! & 0x7f);
  const value = zigzag & 1n ? -((zigzag + 1n) >> 1n) : zigzag >> 1n;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** A long type for `avro.Type.forSchema(schema, { registry: { long } })`. */
export function createExactLongType(options: ExactLongOptions): avro.Type {
  const normalized = (value: number | bigint): number | bigint => {
    if (typeof value === 'number') return value;
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
      return Number(value);
    if (options.beyondSafe === 'refuse') {
      throw new UnsafeLongError(
        `the long ${value} is beyond ±(2^53−1), where a JavaScript number is exact; the record is refused rather than rounded`,
      );
    }
    return value;
  };
  // noUnpack: avsc hands over the raw varint bytes and writes ours as they are
  return avro.types.LongType.__with(
    {
      fromBuffer: (bytes: Buffer) => normalized(readVarint(bytes)),
      toBuffer: (value: number | bigint) => writeVarint(value),
      fromJSON: (value: unknown) => normalized(typeof value === 'string' ? BigInt(value) : (value as number)),
      toJSON: (value: number | bigint) => value,
      isValid: isLong,
      compare: (left: number | bigint, right: number | bigint) => (left < right ? -1 : left > right ? 1 : 0),
    },
    true,
  );
}

/** An Avro type whose longs are exact (see the file comment). */
export function exactAvroType(schema: avro.Schema, options: ExactLongOptions): avro.Type {
  return avro.Type.forSchema(schema, { registry: { long: createExactLongType(options) } });
}
