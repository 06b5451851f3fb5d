/**
 * POST /v1/streams/{stream}/events: validate every event, publish them all, and answer 202 only
 * once Kafka acknowledged each (acks=all). Anything else is a problem-details error and nothing
 * of a rejected request is published.
 */
import type { FastifyInstance } from 'fastify';
import { isSluiceError } from '../../common/errors.ts';
import { readEvents } from '../body.ts';
import { prepareEvents } from '../event-records.ts';
import { eventRouteOptions } from '../openapi.ts';
import { problemStatus, RequestProblem, sendProblem } from '../problems.ts';
import type { RouterDependencies } from '../server.ts';

/**
 * HTTP carries header values as bytes that Node reads as Latin-1: anything beyond printable ASCII
 * would be stored as other bytes than were sent, so it is refused (the body's eventId takes Unicode).
 */
function eventIdFromHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[\x20-\x7e]+$/.test(value)) {
    throw new RequestProblem(
      'ROUTER_BAD_REQUEST',
      "the Event-Id header must be one value of printable ASCII characters; put other ids in each event's eventId field",
    );
  }
  return value;
}

export function registerEventRoutes(app: FastifyInstance, dependencies: RouterDependencies): void {
  const { settings, streams, publisher, metrics, rateLimiter, authenticator } = dependencies;

  const options = eventRouteOptions([...streams.values()].map((encoding) => encoding.stream));
  app.post<{ Params: { stream: string } }>('/v1/streams/:stream/events', options, async (request, reply) => {
    const streamName = request.params.stream;
    // labels only from configured names: unknown names from unauthenticated clients are unbounded
    const streamLabel = streams.has(streamName) ? streamName : 'unknown';
    try {
      // the key is checked before anything that reveals configuration (the stream names)
      const tenant = authenticator?.tenantOf(request.headers);
      const encoding = streams.get(streamName);
      if (!encoding) {
        throw new RequestProblem(
          'ROUTER_UNKNOWN_STREAM',
          `no stream named ${JSON.stringify(streamName)}; known streams: ${[...streams.keys()].join(', ')}`,
        );
      }
      if (!Buffer.isBuffer(request.body)) {
        throw new RequestProblem('ROUTER_MALFORMED_BODY', 'the request has no body: send events');
      }
      const events = await readEvents(
        request.body,
        {
          contentType: request.headers['content-type'],
          contentEncoding: request.headers['content-encoding'],
        },
        { maxBodyBytes: settings.maxBodyBytes, maxEvents: settings.maxEventsPerRequest },
      );
      const prepared = prepareEvents(encoding, events, {
        tenant,
        eventIdHeader: eventIdFromHeader(request.headers['event-id']),
      });
      await rateLimiter.take(prepared.perTenant);
      const placements = await publisher.publish(prepared.records, prepared.bytes);
      metrics.requests.inc({ stream: streamLabel, status: 202 });
      metrics.events.inc({ stream: streamLabel, outcome: 'accepted' }, placements.length);
      return reply.code(202).send({
        stream: streamName,
        accepted: placements.length,
        events: placements.map((placement, index) => ({ eventId: prepared.eventIds[index], ...placement })),
      });
    } catch (error) {
      const code = isSluiceError(error) ? error.code : 'INTERNAL';
      metrics.requests.inc({
        stream: streamLabel,
        status: isSluiceError(error) ? problemStatus(error.code) : 500,
      });
      metrics.rejects.inc({ reason: code });
      if (code !== 'INTERNAL' && problemStatus(code as never) >= 500) {
        dependencies.logger.warn({ err: error, stream: streamLabel }, 'events not acknowledged');
      }
      return sendProblem(reply, error, request.url);
    }
  });
}
