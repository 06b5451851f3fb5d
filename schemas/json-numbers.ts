/**
 * JSON text to values without losing a number: a number that a double holds exactly as written
 * (a short integer, the common case) becomes a plain number; any other stays a `JsonNumber`
 * holding its text, so the schema decides later what it means (an exact integer for Avro
 * int/long, IEEE rounding for float/double). Duplicate keys with different values are refused;
 * an exact repeat is harmless and kept once.
 */
import { isLosslessNumber, LosslessNumber, parse } from 'lossless-json';

export type JsonNumber = LosslessNumber;
export const isJsonNumber = (value: unknown): value is JsonNumber => isLosslessNumber(value);

const plainInteger = /^-?\d{1,15}$/;

function parseNumber(text: string): number | JsonNumber {
  // up to 15 digits every integer is exact in a double
  return plainInteger.test(text) ? Number(text) : new LosslessNumber(text);
}

/** Stands for a key that an object holds twice with different values. */
export class DuplicateKey {
  readonly key: string;
  readonly values: readonly unknown[];
  constructor(key: string, values: readonly unknown[]) {
    this.key = key;
    this.values = values;
  }
}

// One pass finds what JSON.parse might read differently or what the key count below cannot
// handle: a number token (after `:`, `[` or `,`) that is not an integer of at most 15 digits, and
// a key whose closing quote is followed by whitespace before `:`. Look-alikes inside strings
// only send a body to the slow path.
const needsLosslessParse = /[:[,][ \t\n\r]*-?(?:\d{16}|\d+[.eE])|"[ \t\n\r]+:/;
const startsWithContainer = /^[ \t\n\r]*[[{]/;

/**
 * Key ends (`":`) in the text: every key has one; an escaped quote before a colon in a string
 * adds one, which only sends the body to the slow path.
 */
function countKeyEnds(text: string): number {
  let count = 0;
  for (let at = text.indexOf('":'); at >= 0; at = text.indexOf('":', at + 2)) count++;
  return count;
}

/** Own keys of every object in a parsed value. */
function countKeys(value: object): number {
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) count += countKeys(item);
    return count;
  }
  for (const key in value) {
    count++;
    const inner = (value as Record<string, unknown>)[key];
    if (typeof inner === 'object' && inner !== null) count += countKeys(inner);
  }
  return count;
}

/**
 * Parses JSON text; throws SyntaxError (with the position) on malformed text. V8's JSON.parse
 * reads most bodies several times faster than a JS parser, and exactly when every number is an
 * integer of at most 15 digits and no object repeats a key (JSON.parse would keep the last): a
 * repeat shows as fewer keys parsed than key ends in the text. The rest goes to lossless-json.
 */
export function parseJson(text: string): unknown {
  if (startsWithContainer.test(text) && !needsLosslessParse.test(text)) {
    const parsed = JSON.parse(text) as object;
    if (countKeys(parsed) === countKeyEnds(text)) return parsed;
  }
  return parseLossless(text);
}

function parseLossless(text: string): unknown {
  return parse(text, null, {
    parseNumber,
    onDuplicateKey: ({ key, oldValue, newValue }) =>
      new DuplicateKey(key, [...(oldValue instanceof DuplicateKey ? oldValue.values : [oldValue]), newValue]),
  });
}

export type ExactInteger =
  | { kind: 'integer'; value: bigint }
  | { kind: 'fraction' }
  | { kind: 'beyond'; sign: 1 | -1 };

const numberSyntax = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
// no Avro integer has more than 19 digits: a larger exponent can only mean out of range
const maxExponent = 40;

/** The exact integer a JSON number's text denotes, or why there is none (no doubles involved). */
export function exactInteger(text: string): ExactInteger {
  const match = numberSyntax.exec(text);
  if (!match) return { kind: 'fraction' };
  const [, minus, whole, fraction = '', exponentText = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  let exponent = Number(exponentText) - fraction.length;
  if (digits === '') return { kind: 'integer', value: 0n };
  const trailingZeros = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailingZeros);
  exponent += trailingZeros;
  if (exponent < 0) return { kind: 'fraction' };
  if (digits.length + exponent > maxExponent) return { kind: 'beyond', sign: minus ? -1 : 1 };
  const magnitude = BigInt(digits) * 10n ** BigInt(exponent);
  return { kind: 'integer', value: minus ? -magnitude : magnitude };
}
