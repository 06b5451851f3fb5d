/**
 * Streams: a name bound to a Kafka topic, an Avro schema (.avsc file), a partition-key field and
 * an event-time field. Loaded from the config and checked against the schema at start; every
 * problem is reported at once, naming the setting.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type avro from 'avsc';
import type { StreamConfig } from '../common/config/schema.ts';
import { SluiceError } from '../common/errors.ts';
import { exactAvroType } from './exact-long.ts';

export interface Stream {
  name: string;
  topic: string;
  partitions: number;
  /** The parsed .avsc document, as registered. */
  schema: { name: string; fields: { name: string; type: unknown }[] };
  /** Longs are exact over the whole Avro range: a number when safe, a bigint beyond (exact-long.ts). */
  type: avro.Type;
  partitionKey: string;
  eventTime: string | undefined;
  /** A table: a compacted topic with one row per key (streams.<name>.table). */
  table: boolean;
  /** Registry subject (Confluent's topic-name strategy). */
  subject: string;
  /** Names of the schema's fields, for the undeclared-field check. */
  fieldNames: ReadonlySet<string>;
}

/** The Avro type name of a field, with `null|string` style for unions. */
export function avroTypeName(type: unknown): string {
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.map(avroTypeName).join('|');
  if (type && typeof type === 'object' && 'type' in type) {
    const inner = (type as { type: unknown; logicalType?: string }).type;
    return typeof inner === 'string' ? inner : avroTypeName(inner);
  }
  return 'unknown';
}

function loadStream(
  name: string,
  config: StreamConfig,
  baseDir: string,
  problems: string[],
): Stream | undefined {
  const where = `streams.${name}`;
  const file = resolve(baseDir, config.schema);
  let schema: Stream['schema'];
  let type: avro.Type;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8'));
    type = exactAvroType(schema as avro.Schema, { beyondSafe: 'bigint' });
  } catch (error) {
    problems.push(`${where}.schema: cannot use ${file}: ${(error as Error).message}`);
    return undefined;
  }
  if (type.typeName !== 'record') {
    problems.push(`${where}.schema: ${file} must define an Avro record, not ${type.typeName}`);
    return undefined;
  }
  const fieldType = (field: string) => schema.fields.find((candidate) => candidate.name === field)?.type;
  const expect = (setting: 'partitionKey' | 'eventTime', wanted: string) => {
    const field = config[setting];
    if (field === undefined) return;
    const found = fieldType(field);
    if (found === undefined) {
      problems.push(`${where}.${setting}: "${field}" is not a field of ${schema.name} (${config.schema})`);
    } else if (avroTypeName(found) !== wanted) {
      problems.push(
        `${where}.${setting}: "${field}" must be a ${wanted} field, it is ${avroTypeName(found)}`,
      );
    }
  };
  expect('partitionKey', 'string');
  expect('eventTime', 'long');
  return {
    name,
    topic: config.topic,
    partitions: config.partitions,
    schema,
    type,
    partitionKey: config.partitionKey,
    eventTime: config.eventTime,
    table: config.table,
    subject: `${config.topic}-value`,
    fieldNames: new Set(schema.fields.map((field) => field.name)),
  };
}

export function loadStreams(
  configs: Readonly<Record<string, StreamConfig>>,
  baseDir: string,
): Map<string, Stream> {
  const problems: string[] = [];
  const streams = new Map<string, Stream>();
  for (const [name, config] of Object.entries(configs)) {
    const stream = loadStream(name, config, baseDir, problems);
    if (stream) streams.set(name, stream);
  }
  if (problems.length > 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `invalid stream definitions:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  return streams;
}

/** The seed's `Request` stream as `sluice.yaml` declares it, for tools and tests without a config file. */
export function seedRequestStream(): Stream {
  const stream = {
    topic: 'requests',
    schema: 'schemas/Request.avsc',
    partitionKey: 'userTenantDomain',
    eventTime: 'requestTimestamp',
    partitions: 1,
    table: false,
  };
  return loadStreams({ Request: stream }, resolve(import.meta.dirname, '..')).get('Request')!;
}
