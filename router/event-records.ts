/**
 * Turns a request's events into Kafka records, or refuses the whole request: every event is
 * validated against its stream's schema (all problems listed, by event index and field), checked
 * against the caller's tenant, given an event id, Avro-encoded in the Confluent wire format and
 * placed on the partition of its key (murmur2, as Kafka's Java client).
 */
import { randomUUID } from 'node:crypto';
import { type OutgoingRecord, partitionForKey } from '../common/kafka/index.ts';
import type { Stream } from '../schemas/streams.ts';
import { isWellFormed, validateEvent } from '../schemas/validation.ts';
import { type EventError, RequestProblem } from './problems.ts';

export const eventIdHeader = 'event-id';
const maxListedErrors = 100;

export interface PreparedEvents {
  records: OutgoingRecord[];
  eventIds: string[];
  bytes: number;
  /** Events per tenant (partition-key value), for rate limits. */
  perTenant: Map<string, number>;
}

export interface StreamEncoding {
  stream: Stream;
  encode: (value: unknown) => Buffer;
  partitions: () => number;
}

export function prepareEvents(
  encoding: StreamEncoding,
  events: readonly unknown[],
  context: { eventIdHeader?: string; tenant?: string },
): PreparedEvents {
  const { stream } = encoding;
  const keepsEventId = stream.fieldNames.has('eventId');
  const errors: EventError[] = [];
  const forbidden: number[] = [];
  const values: Record<string, unknown>[] = [];
  const eventIds: string[] = [];

  events.forEach((event, index) => {
    let value = event as Record<string, unknown>;
    let eventId: string | undefined;
    if (typeof event === 'object' && event !== null && !Array.isArray(event) && 'eventId' in event) {
      const given = (event as { eventId: unknown }).eventId;
      if (typeof given === 'string' && given !== '' && isWellFormed(given)) eventId = given;
      else
        errors.push({
          index,
          field: 'eventId',
          reason: 'eventId must be a non-empty, well-formed Unicode string',
        });
      if (!keepsEventId) {
        const { eventId: _removed, ...rest } = event as Record<string, unknown>;
        value = rest;
      }
    }
    for (const problem of validateEvent(stream, value)) errors.push({ index, ...problem });
    if (context.tenant !== undefined && value?.[stream.partitionKey] !== context.tenant)
      forbidden.push(index);
    values.push(value);
    eventIds.push(
      eventId ??
        (context.eventIdHeader
          ? events.length === 1
            ? context.eventIdHeader
            : `${context.eventIdHeader}-${index}`
          : randomUUID()),
    );
  });

  if (errors.length > 0) {
    throw new RequestProblem(
      'ROUTER_INVALID_EVENTS',
      `${new Set(errors.map((error) => error.index)).size} of ${events.length} event(s) do not match the schema of stream ${stream.name}; nothing was published`,
      {
        errors: errors.slice(0, maxListedErrors),
        omittedErrors: Math.max(0, errors.length - maxListedErrors),
      },
    );
  }
  if (forbidden.length > 0) {
    throw new RequestProblem(
      'ROUTER_FORBIDDEN_TENANT',
      `this API key may only publish events of tenant ${context.tenant}; event(s) ${forbidden.slice(0, 20).join(', ')} have another ${stream.partitionKey}; nothing was published`,
    );
  }

  const partitions = encoding.partitions();
  const perTenant = new Map<string, number>();
  let bytes = 0;
  const records = values.map((value, index): OutgoingRecord => {
    const key = value[stream.partitionKey] as string;
    perTenant.set(key, (perTenant.get(key) ?? 0) + 1);
    const encoded = encoding.encode(value);
    bytes += encoded.length + key.length;
    return {
      topic: stream.topic,
      key,
      value: encoded,
      headers: { [eventIdHeader]: eventIds[index]! },
      partition: partitionForKey(key, partitions),
    };
  });
  return { records, eventIds, bytes, perTenant };
}
