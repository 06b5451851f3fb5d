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

// character codes the scan looks at
const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const minus = 0x2d;
const dot = 0x2e;
const zero = 0x30;
const nine = 0x39;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const lowerE = 0x65;
const upperE = 0x45;

/**
 * Whether JSON.parse could change the text's meaning: a number that is not an integer of at most
 * 15 digits (it could round), or an object that repeats a key (JSON.parse keeps the last). One
 * pass over the characters; on malformed text the answer does not matter (both parsers refuse).
 */
export function needsLosslessParse(text: string): boolean {
  const objects: (Set<string> | undefined)[] = []; // undefined for arrays
  let expectsKey = false;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === quote) {
      const start = index;
      let escaped = false;
      index++;
      while (index < text.length) {
        const inner = text.charCodeAt(index);
        if (inner === backslash) {
          escaped = true;
          index += 2;
        } else if (inner === quote) break;
        else index++;
      }
      const keys = objects[objects.length - 1];
      if (expectsKey && keys) {
        const key = escaped
          ? (JSON.parse(text.slice(start, index + 1)) as string)
          : text.slice(start + 1, index);
        if (keys.has(key)) return true;
        keys.add(key);
        expectsKey = false;
      }
    } else if (code === openBrace) {
      objects.push(new Set());
      expectsKey = true;
    } else if (code === openBracket) objects.push(undefined);
    else if (code === closeBrace || code === closeBracket) objects.pop();
    else if (code === comma) expectsKey = objects[objects.length - 1] !== undefined;
    else if (code === minus || (code >= zero && code <= nine)) {
      let digits = code === minus ? 0 : 1;
      index++;
      while (index < text.length) {
        const digit = text.charCodeAt(index);
        if (digit < zero || digit > nine) break;
        digits++;
        index++;
      }
      const next = text.charCodeAt(index);
      if (digits > 15 || next === dot || next === lowerE || next === upperE) return true;
      continue;
    }
    index++;
  }
  return false;
}

/**
 * Parses JSON text; throws SyntaxError (with the position) on malformed text. V8's JSON.parse
 * reads most bodies (short integers, no repeated keys) several times faster than a JS parser,
 * and exactly: the slower lossless parser only reads the rest.
 */
export function parseJson(text: string): unknown {
  if (!needsLosslessParse(text)) return JSON.parse(text);
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
