/**
 * POST /v1/streams/{stream}/events: validate every event, publish them all, and answer 202 only
 * once Kafka acknowledged each (acks=all). Anything else is a problem-details error and nothing
 * of a rejected request is published.
 */
import type { FastifyInstance } from 'fastify';
import { isSluiceError } from '../../common/errors.ts';
import { contentTypes, parseEvents } from '../body.ts';
import { prepareEvents } from '../event-records.ts';
import { problemStatus, RequestProblem, sendProblem } from '../problems.ts';
import type { RouterDependencies } from '../server.ts';

export function registerEventRoutes(app: FastifyInstance, dependencies: RouterDependencies): void {
  const { settings, streams, publisher, metrics, rateLimiter, authenticator } = dependencies;

  app.post<{ Params: { stream: string } }>('/v1/streams/:stream/events', async (request, reply) => {
    const streamName = request.params.stream;
    try {
      const encoding = streams.get(streamName);
      if (!encoding) {
        throw new RequestProblem(
          'ROUTER_UNKNOWN_STREAM',
          `no stream named ${streamName}; known streams: ${[...streams.keys()].join(', ')}`,
        );
      }
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!Buffer.isBuffer(request.body) || !contentTypes[mediaType]) {
        throw new RequestProblem(
          'ROUTER_UNSUPPORTED_MEDIA_TYPE',
          `send events as ${Object.keys(contentTypes).join(', ')}`,
        );
      }
      const tenant = authenticator?.tenantOf(request.headers);
      const events = parseEvents(
        request.body as Buffer,
        contentTypes[mediaType]!,
        settings.maxEventsPerRequest,
      );
      const eventIdHeader = request.headers['event-id'];
      const prepared = prepareEvents(encoding, events, {
        tenant,
        eventIdHeader: typeof eventIdHeader === 'string' && eventIdHeader !== '' ? eventIdHeader : undefined,
      });
      rateLimiter.take(prepared.perTenant);
      const placements = await publisher.publish(prepared.records, prepared.bytes);
      metrics.requests.inc({ stream: streamName, status: 202 });
      metrics.events.inc({ stream: streamName, outcome: 'accepted' }, placements.length);
      return reply.code(202).send({
        stream: streamName,
        accepted: placements.length,
        events: placements.map((placement, index) => ({ eventId: prepared.eventIds[index], ...placement })),
      });
    } catch (error) {
      const code = isSluiceError(error) ? error.code : 'INTERNAL';
      metrics.requests.inc({
        stream: streamName,
        status: isSluiceError(error) ? problemStatus(error.code) : 500,
      });
      metrics.rejects.inc({ reason: code });
      if (code !== 'INTERNAL' && problemStatus(code as never) >= 500) {
        dependencies.logger.warn({ err: error, stream: streamName }, 'events not acknowledged');
      }
      return sendProblem(reply, error, request.url);
    }
  });
}
