/**
 * The router's HTTP app, built but not listening (tests inject into it): POST
 * /v1/streams/{stream}/events, /healthz, /readyz, /metrics. Dependencies come in ready-made.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RouterConfig } from '../common/config/schema.ts';
import { isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { Authenticator } from './auth.ts';
import { contentTypes } from './body.ts';
import type { StreamEncoding } from './event-records.ts';
import type { RouterMetrics } from './metrics.ts';
import { RequestProblem, sendProblem } from './problems.ts';
import type { Publisher } from './publisher.ts';
import type { RateLimiter } from './rate-limit.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerHealthRoutes } from './routes/health.ts';

export interface RouterDependencies {
  settings: RouterConfig;
  streams: ReadonlyMap<string, StreamEncoding>;
  publisher: Publisher;
  authenticator?: Authenticator;
  rateLimiter: RateLimiter;
  metrics: RouterMetrics;
  metricsRegistry: Registry;
  /** Why the router is not ready (Kafka or registry unreachable), or undefined. */
  notReadyReason(): Promise<string | undefined>;
  logger: Logger;
  /** Serve HTTPS with this PEM certificate and key. */
  https?: { cert: string; key: string };
}

const fastifyErrors: Record<string, RequestProblem> = {
  FST_ERR_CTP_BODY_TOO_LARGE: new RequestProblem(
    'ROUTER_BODY_TOO_LARGE',
    'the body is larger than the router accepts',
  ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new RequestProblem(
    'ROUTER_UNSUPPORTED_MEDIA_TYPE',
    `send events as ${Object.keys(contentTypes).join(', ')}`,
  ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new RequestProblem(
    'ROUTER_MALFORMED_BODY',
    'the Content-Length does not match the body',
  ),
};

export function buildRouterServer(dependencies: RouterDependencies): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: dependencies.settings.maxBodyBytes,
    // a client that stops reading must not hold a connection forever
    requestTimeout: 60_000,
    ...(dependencies.https ? { https: dependencies.https } : {}),
  }) as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(contentTypes), { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error, request, reply) => {
    const known = fastifyErrors[(error as { code?: string }).code ?? ''];
    if (!known && !isSluiceError(error))
      dependencies.logger.error({ err: error, url: request.url }, 'request failed');
    return sendProblem(reply, known ?? error, request.url);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: `no route ${request.method} ${request.url}; events go to POST /v1/streams/{stream}/events`,
        instance: request.url,
      }),
  );

  registerEventRoutes(app, dependencies);
  registerHealthRoutes(app, dependencies);
  return app;
}
