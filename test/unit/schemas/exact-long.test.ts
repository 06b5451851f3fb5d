import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  createExactLongType,
  exactAvroType,
  maxLong,
  minLong,
  UnsafeLongError,
} from '../../../schemas/exact-long.ts';

const exact = createExactLongType({ beyondSafe: 'bigint' });
const refusing = createExactLongType({ beyondSafe: 'refuse' });
const native = avro.Type.forSchema('long');

/** Avro's zig-zag varint, computed independently with BigInt from the specification. */
function specVarint(value: bigint): Buffer {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  do {
    const low = Number(zigzag & 0x7fn);
    zigzag >>= 7n;
    bytes.push(zigzag > 0n ? low | 0x80 : low);
  } while (zigzag > 0n);
  return Buffer.from(bytes);
}

const boundaries = [
  0n,
  1n,
  -1n,
  63n,
  -64n,
  64n,
  -65n,
  2n ** 31n,
  -(2n ** 31n) - 1n,
  2n ** 52n,
  -(2n ** 52n),
  2n ** 52n + 1n,
  -(2n ** 52n) - 1n,
  -6586618969457457n,
  -9007199254740990n,
  2n ** 53n - 1n,
  -(2n ** 53n) + 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  2n ** 60n,
  maxLong,
  minLong,
];

describe('exact Avro long', () => {
  it.each(boundaries)('writes %s as the specification says and reads it back exactly', (value) => {
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
    const written = exact.toBuffer(safe ? Number(value) : value);
    expect(written).toEqual(specVarint(value));
    const read = exact.fromBuffer(written);
    expect(typeof read).toBe(safe ? 'number' : 'bigint');
    expect(BigInt(read as number | bigint)).toBe(value);
  });

  it('writes the same bytes as avsc where avsc is right (|n| ≤ 2^52)', () => {
    for (const value of [0, 1, -1, 1234567, -987654321, 2 ** 40 + 3, -(2 ** 52), 2 ** 52]) {
      expect(exact.toBuffer(value)).toEqual(native.toBuffer(value));
    }
  });

  it('refuses what is not an exact long', () => {
    for (const value of [1.5, Number.NaN, 2 ** 53, maxLong + 1n, minLong - 1n, '1', null]) {
      expect(exact.isValid(value)).toBe(false);
    }
  });

  it('in refuse mode, decodes safe values and refuses the others with a reason', () => {
    expect(refusing.fromBuffer(specVarint(-(2n ** 53n) + 1n))).toBe(Number.MIN_SAFE_INTEGER);
    expect(() => refusing.fromBuffer(specVarint(2n ** 53n))).toThrow(UnsafeLongError);
    expect(() => refusing.fromBuffer(specVarint(minLong))).toThrow(/beyond ±\(2\^53−1\)/);
  });

  it('works nested in records, unions, arrays and maps', () => {
    const type = exactAvroType(
      {
        type: 'record',
        name: 'Nested',
        fields: [
          { name: 'maybe', type: ['null', 'long'] },
          { name: 'list', type: { type: 'array', items: 'long' } },
          { name: 'byName', type: { type: 'map', values: 'long' } },
        ],
      },
      { beyondSafe: 'bigint' },
    );
    const value = { maybe: minLong, list: [maxLong, -1], byName: { a: 2n ** 60n } };
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });
});
