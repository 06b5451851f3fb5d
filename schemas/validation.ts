/**
 * Checks one JSON event against its stream's Avro schema, says per field what is wrong, and
 * gives the exact value to encode. The schema decides what a JSON number means: an int/long
 * field takes only an exact integer (from the number's text, never through a double), a
 * float/double field the IEEE value. Every string must be well-formed Unicode (no lone
 * surrogate), because strict Avro readers cannot decode one.
 */
import type avro from 'avsc';
import { DuplicateKey, exactInteger, isJsonNumber, type JsonNumber } from './json-numbers.ts';
import type { Stream } from './streams.ts';

export interface FieldError {
  /** Dotted path of the field ('' for the event itself). */
  field: string;
  reason: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isJsonNumber(value)) return `the number ${value.value}`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

const avroName = (type: avro.Type) => (type.typeName === 'abstract:long' ? 'long' : (type.typeName ?? ''));

function expectation(typeName: string, value: unknown): string {
  if (value === undefined) return 'is required';
  if ((typeName === 'long' || typeName === 'int') && typeof value === 'number' && Number.isInteger(value)) {
    return `is out of range for Avro ${typeName}`;
  }
  return `expected ${typeName}, got ${describeValue(value)}`;
}

const int32 = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const int64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

// in a u-mode regex a surrogate code unit only matches when it is not half of a pair
const loneSurrogate = /\p{Cs}/u;

type Report = (field: string, reason: string) => void;

/** The value a JSON number stands for in a numeric field, or undefined after reporting why none. */
function numberFor(type: string, value: number | JsonNumber, field: string, report: Report) {
  if (type === 'float' || type === 'double') {
    const float = typeof value === 'number' ? value : Number(value.value);
    if (!Number.isFinite(type === 'float' ? Math.fround(float) : float)) {
      report(field, `is out of range for Avro ${type}`);
      return undefined;
    }
    return float;
  }
  const exact =
    typeof value === 'number'
      ? Number.isInteger(value)
        ? { kind: 'integer' as const, value: BigInt(value) }
        : { kind: 'fraction' as const }
      : exactInteger(value.value);
  if (exact.kind === 'fraction') {
    report(field, `expected ${type}, got ${describeValue(value)}, which is not an integer`);
    return undefined;
  }
  const range = type === 'int' ? int32 : int64;
  if (exact.kind === 'beyond' || exact.value < range.min || exact.value > range.max) {
    report(field, `is out of range for Avro ${type} (${range.min} … ${range.max})`);
    return undefined;
  }
  const integer = exact.value;
  return integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(integer)
    : integer;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !isJsonNumber(value);

/**
 * Replaces JSON numbers by what the schema says they are and checks strings, in place; reports
 * what cannot be fixed. Type mismatches are left for avsc's check to report.
 */
function normalize(type: avro.Type, value: unknown, field: string, report: Report): unknown {
  const name = avroName(type);
  if (value instanceof DuplicateKey) {
    report(field, `appears ${value.values.length} times with different values; send each field once`);
    return value;
  }
  if (typeof value === 'number' || isJsonNumber(value)) {
    if (name === 'int' || name === 'long' || name === 'float' || name === 'double') {
      const exact = numberFor(name, value, field, report);
      return exact === undefined ? value : exact;
    }
    if (name !== 'union:unwrapped') return value;
  }
  if (typeof value === 'string') {
    const at = value.search(loneSurrogate);
    if (at >= 0) report(field, `is not well-formed Unicode: a lone surrogate at UTF-16 index ${at}`);
    return value;
  }
  const typeInfo = type as unknown as {
    fields?: { name: string; type: avro.Type }[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: avro.Type[];
  };
  const at = (key: string) => (field === '' ? key : `${field}.${key}`);
  if (name === 'record' && isPlainObject(value)) {
    for (const child of typeInfo.fields ?? []) {
      if (Object.hasOwn(value, child.name))
        value[child.name] = normalize(child.type, value[child.name], at(child.name), report);
    }
  } else if (name === 'array' && Array.isArray(value)) {
    value.forEach((item, index) => {
      value[index] = normalize(typeInfo.itemsType!, item, at(String(index)), report);
    });
  } else if (name === 'map' && isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (loneSurrogate.test(key)) report(at(key), 'the map key is not well-formed Unicode');
      value[key] = normalize(typeInfo.valuesType!, value[key], at(key), report);
    }
  } else if (name === 'union:unwrapped' && value !== null) {
    // unwrapped unions have at most one branch per JSON kind: the one that fits this value
    const kind = (candidate: avro.Type) => avroName(candidate);
    const numeric = ['int', 'long', 'float', 'double'];
    const branch = (typeInfo.types ?? []).find((candidate) =>
      typeof value === 'number' || isJsonNumber(value)
        ? numeric.includes(kind(candidate))
        : typeof value === 'object' && !numeric.includes(kind(candidate)) && kind(candidate) !== 'null',
    );
    if (branch) return normalize(branch, value, field, report);
  } else if (name === 'union:wrapped' && isPlainObject(value)) {
    const keys = Object.keys(value);
    const branch = (typeInfo.types ?? []).find((candidate) => candidate.branchName === keys[0]);
    if (keys.length === 1 && branch) value[keys[0]!] = normalize(branch, value[keys[0]!], field, report);
  }
  return value;
}

/**
 * All problems of `event` for `stream`; an empty list means it can be encoded. Numbers in the
 * event are replaced, in place, by their exact values (a bigint for a long beyond ±2^53).
 */
export function validateEvent(stream: Stream, event: unknown): FieldError[] {
  if (!isPlainObject(event)) {
    return [{ field: '', reason: `an event must be a JSON object, got ${describeValue(event)}` }];
  }
  const errors: FieldError[] = [];
  for (const key of Object.keys(event)) {
    if (!stream.fieldNames.has(key))
      errors.push({ field: key, reason: `unknown field: not in schema ${stream.schema.name}` });
  }
  const reported = new Set<string>();
  normalize(stream.type, event, '', (field, reason) => {
    reported.add(field);
    errors.push({ field, reason });
  });
  stream.type.isValid(event, {
    errorHook: (path, value, type) => {
      const field = path.join('.');
      if (field !== '' && !reported.has(field))
        errors.push({ field, reason: expectation(avroName(type), value) });
    },
  });
  const key = event[stream.partitionKey];
  if (typeof key === 'string' && key.trim() === '') {
    errors.push({ field: stream.partitionKey, reason: 'the partition key must not be empty' });
  }
  return errors;
}
