/** Checks one JSON event against its stream's Avro schema and says, per field, what is wrong. */
import type { Stream } from './streams.ts';

export interface FieldError {
  /** Dotted path of the field ('' for the event itself). */
  field: string;
  reason: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function expectation(typeName: string, value: unknown): string {
  if (value === undefined) return 'is required';
  if ((typeName === 'long' || typeName === 'int') && typeof value === 'number' && Number.isInteger(value)) {
    return `is out of range for Avro ${typeName}`;
  }
  return `expected ${typeName}, got ${describeValue(value)}`;
}

/** All problems of `event` for `stream`; an empty list means it can be encoded. */
export function validateEvent(stream: Stream, event: unknown): FieldError[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return [{ field: '', reason: `an event must be a JSON object, got ${describeValue(event)}` }];
  }
  const errors: FieldError[] = [];
  for (const key of Object.keys(event)) {
    if (!stream.fieldNames.has(key))
      errors.push({ field: key, reason: `unknown field: not in schema ${stream.schema.name}` });
  }
  stream.type.isValid(event, {
    errorHook: (path, value, type) => {
      const field = path.join('.');
      if (field !== '') errors.push({ field, reason: expectation(type.typeName ?? String(type), value) });
    },
  });
  const key = (event as Record<string, unknown>)[stream.partitionKey];
  if (typeof key === 'string' && key.trim() === '') {
    errors.push({ field: stream.partitionKey, reason: 'the partition key must not be empty' });
  }
  return errors;
}
