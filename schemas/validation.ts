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
/** Whether a string is well-formed Unicode (no lone surrogate): String#isWellFormed where the runtime has it. */
export const isWellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (text) => !loneSurrogate.test(text);

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
  // the common case: a short integer, exact already (json-numbers.ts keeps longer ones as text)
  if (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    (type === 'long' || (value >= -(2 ** 31) && value < 2 ** 31))
  )
    return value;
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

/** Fixes one value in place (exact numbers) and reports what cannot be fixed; see `normalizerOf`. */
type Normalizer = (value: unknown, field: string, report: Report) => unknown;

const child = (field: string, key: string) => (field === '' ? key : `${field}.${key}`);
const numeric = new Set(['int', 'long', 'float', 'double']);

function compile(type: avro.Type): Normalizer {
  const name = avroName(type);
  const info = type as unknown as {
    fields?: { name: string; type: avro.Type }[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: avro.Type[];
  };
  if (numeric.has(name)) {
    return (value, field, report) => {
      if (typeof value !== 'number' && !isJsonNumber(value)) return value;
      const exact = numberFor(name, value, field, report);
      return exact === undefined ? value : exact;
    };
  }
  if (name === 'string') {
    return (value, field, report) => {
      if (typeof value === 'string' && !isWellFormed(value)) {
        report(
          field,
          `is not well-formed Unicode: a lone surrogate at UTF-16 index ${value.search(loneSurrogate)}`,
        );
      }
      return value;
    };
  }
  if (name === 'record') {
    const fields = (info.fields ?? []).map((field) => ({ name: field.name, type: field.type }));
    let normalizers: Normalizer[] | undefined; // resolved on first use: records may refer to themselves
    return (value, field, report) => {
      if (!isPlainObject(value)) return value;
      normalizers ??= fields.map((entry) => normalizerOf(entry.type));
      for (let index = 0; index < fields.length; index++) {
        const key = fields[index]!.name;
        if (Object.hasOwn(value, key))
          value[key] = normalizers[index]!(value[key], child(field, key), report);
      }
      return value;
    };
  }
  if (name === 'array') {
    return (value, field, report) => {
      if (!Array.isArray(value)) return value;
      const normalize = normalizerOf(info.itemsType!);
      for (let index = 0; index < value.length; index++)
        value[index] = normalize(value[index], child(field, String(index)), report);
      return value;
    };
  }
  if (name === 'map') {
    return (value, field, report) => {
      if (!isPlainObject(value)) return value;
      const normalize = normalizerOf(info.valuesType!);
      for (const key of Object.keys(value)) {
        if (!isWellFormed(key)) report(child(field, key), 'the map key is not well-formed Unicode');
        value[key] = normalize(value[key], child(field, key), report);
      }
      return value;
    };
  }
  if (name === 'union:unwrapped') {
    // an unwrapped union has at most one branch per JSON kind: the one that fits this value
    const branches = info.types ?? [];
    const numberBranch = branches.find((branch) => numeric.has(avroName(branch)));
    const stringBranch = branches.find((branch) => avroName(branch) === 'string');
    const objectBranch = branches.find((branch) => ['record', 'map', 'array'].includes(avroName(branch)));
    return (value, field, report) => {
      const branch =
        typeof value === 'number' || isJsonNumber(value)
          ? numberBranch
          : typeof value === 'string'
            ? stringBranch
            : typeof value === 'object' && value !== null
              ? objectBranch
              : undefined;
      return branch ? normalizerOf(branch)(value, field, report) : value;
    };
  }
  if (name === 'union:wrapped') {
    return (value, field, report) => {
      if (!isPlainObject(value)) return value;
      const keys = Object.keys(value);
      const branch = (info.types ?? []).find((candidate) => candidate.branchName === keys[0]);
      if (keys.length === 1 && branch) value[keys[0]!] = normalizerOf(branch)(value[keys[0]!], field, report);
      return value;
    };
  }
  return (value) => value;
}

const normalizers = new WeakMap<avro.Type, Normalizer>();

/**
 * The normalizer of a type, compiled once: it replaces JSON numbers by what the schema says
 * they are, checks strings, and refuses keys sent twice; type mismatches are left for avsc's
 * check to report.
 */
function normalizerOf(type: avro.Type): Normalizer {
  let normalizer = normalizers.get(type);
  if (!normalizer) {
    const compiled = compile(type);
    normalizer = (value, field, report) => {
      if (value instanceof DuplicateKey) {
        report(field, `appears ${value.values.length} times with different values; send each field once`);
        return value;
      }
      return compiled(value, field, report);
    };
    normalizers.set(type, normalizer);
  }
  return normalizer;
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
  normalizerOf(stream.type)(event, '', (field, reason) => {
    reported.add(field);
    errors.push({ field, reason });
  });
  // the check with a hook is several times slower: only run it to say what is wrong
  if (!stream.type.isValid(event)) {
    stream.type.isValid(event, {
      errorHook: (path, value, type) => {
        const field = path.join('.');
        if (field !== '' && !reported.has(field))
          errors.push({ field, reason: expectation(avroName(type), value) });
      },
    });
  }
  const key = event[stream.partitionKey];
  if (typeof key === 'string' && key.trim() === '') {
    errors.push({ field: stream.partitionKey, reason: 'the partition key must not be empty' });
  }
  return errors;
}
