/**
 * The router's API as OpenAPI 3.1, served at GET /openapi.json and generated (by
 * @fastify/swagger) from the schemas the routes declare: the events route's body is each
 * stream's Avro schema as JSON Schema, its answers the 202 summary and problem details. The
 * route schemas describe; they do not validate or serialize (the Avro check does, exactly).
 */
import swagger from '@fastify/swagger';
import type avro from 'avsc';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Stream } from '../schemas/streams.ts';
import { contentTypes } from './body.ts';
import { problemContentType } from './problems.ts';

type JsonSchema = Record<string, unknown>;

/** JSON Schema for the JSON form of an Avro value (as the router reads events). */
export function jsonSchemaOf(type: avro.Type): JsonSchema {
  const info = type as unknown as {
    typeName: string;
    fields?: { name: string; type: avro.Type; doc?: string }[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    types?: avro.Type[];
    symbols?: string[];
    doc?: string;
  };
  switch (info.typeName) {
    case 'null':
      return { type: 'null' };
    case 'boolean':
      return { type: 'boolean' };
    case 'int':
      return { type: 'integer', format: 'int32' };
    case 'long':
    case 'abstract:long':
      // int64 over its whole range: the router reads integers exactly, not as doubles
      return { type: 'integer', format: 'int64' };
    case 'float':
    case 'double':
      return { type: 'number', format: info.typeName };
    case 'string':
    case 'bytes':
    case 'fixed':
      return { type: 'string' };
    case 'enum':
      return { type: 'string', enum: info.symbols };
    case 'array':
      return { type: 'array', items: jsonSchemaOf(info.itemsType!) };
    case 'map':
      return { type: 'object', additionalProperties: jsonSchemaOf(info.valuesType!) };
    case 'union:unwrapped':
      return { anyOf: info.types!.map(jsonSchemaOf) };
    case 'union:wrapped':
      return {
        anyOf: info.types!.map((branch) =>
          branch.typeName === 'null'
            ? { type: 'null' }
            : {
                type: 'object',
                properties: { [branch.branchName!]: jsonSchemaOf(branch) },
                required: [branch.branchName!],
                additionalProperties: false,
              },
        ),
      };
    case 'record':
      return {
        type: 'object',
        ...(info.doc ? { description: info.doc } : {}),
        properties: Object.fromEntries(
          info.fields!.map((field) => [
            field.name,
            { ...jsonSchemaOf(field.type), ...(field.doc ? { description: field.doc } : {}) },
          ]),
        ),
        required: info.fields!.map((field) => field.name),
        additionalProperties: false,
      };
    default:
      return {};
  }
}

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'field', 'reason'],
        properties: { index: { type: 'integer' }, field: { type: 'string' }, reason: { type: 'string' } },
      },
    },
    omittedErrors: { type: 'integer' },
  },
};

const problem = (description: string) => ({
  description,
  content: { [problemContentType]: { schema: problemSchema } },
});

/** Documentation-only route options: the handler reads and checks the raw body itself. */
const describedOnly = {
  validatorCompiler: () => () => true,
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
} as const;

/** Options of POST /v1/streams/:stream/events: its OpenAPI description. */
export function eventRouteOptions(streams: Iterable<Stream>): RouteShorthandOptions {
  const event = {
    anyOf: [...streams].map((stream) => ({ title: stream.name, ...jsonSchemaOf(stream.type) })),
  };
  const jsonBody = { anyOf: [event, { type: 'array', items: event }] };
  return {
    ...describedOnly,
    schema: {
      summary: 'Publish events to a stream',
      description:
        'One JSON event, a JSON array of events, or NDJSON (one event per line), UTF-8, optionally gzip (Content-Encoding). 202 means every event is in Kafka (acks=all); anything else means none was acknowledged.',
      params: {
        type: 'object',
        properties: { stream: { type: 'string', description: 'a configured stream name' } },
        required: ['stream'],
      },
      body: {
        content: Object.fromEntries(
          Object.entries(contentTypes).map(([type, format]) => [
            type,
            { schema: format === 'json' ? jsonBody : { ...event, description: 'one event per line' } },
          ]),
        ),
      },
      response: {
        202: {
          description: 'every event is in Kafka, at the partition and offset given',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['stream', 'accepted', 'events'],
                properties: {
                  stream: { type: 'string' },
                  accepted: { type: 'integer' },
                  events: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['eventId', 'partition', 'offset'],
                      properties: {
                        eventId: { type: 'string' },
                        partition: { type: 'integer' },
                        offset: { type: 'string', description: 'a decimal int64' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        400: problem('malformed body (not UTF-8, not JSON, no events, too many)'),
        401: problem('missing or unknown API key'),
        403: problem('an event of another tenant than the key'),
        404: problem('no such stream'),
        413: problem('body (or inflated gzip body) too large'),
        415: problem('unsupported Content-Type, charset or Content-Encoding'),
        422: problem('events that do not match the schema, with per-field errors'),
        429: problem('over the tenant rate limit; see Retry-After'),
        503: problem(
          'not acknowledged by Kafka in time, or the stream schema id not known yet (registry unreachable); see Retry-After; retry with the same event ids',
        ),
      },
    },
  };
}

/** Registers the generator; call before the routes are added (it records them as they are). */
export function registerOpenApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sluice router',
        version: '1',
        description: 'HTTP ingest into Kafka: what a 202 stores is exactly what was sent.',
      },
    },
  });
}

export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
