/**
 * The router's HTTP app, built but not listening (tests inject into it): POST
 * /v1/streams/{stream}/events, /healthz, /readyz, /metrics, /openapi.json. Dependencies come in ready-made.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RouterConfig } from '../common/config/schema.ts';
import type { Logger } from '../common/log.ts';
import type { Authenticator } from './auth.ts';
import { contentTypes } from './body.ts';
import type { StreamEncoding } from './event-records.ts';
import { installProblemHandlers, problemServerOptions } from './framework-errors.ts';
import type { RouterMetrics } from './metrics.ts';
import { registerOpenApi, registerOpenApiRoute } from './openapi.ts';
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
  /** The text of /metrics when it is not this registry's alone (a worker: all workers, aggregated). */
  metricsText?: () => Promise<string>;
  /** Why the router is not ready (Kafka or registry unreachable), or undefined. */
  notReadyReason(): Promise<string | undefined>;
  logger: Logger;
  /** Serve HTTPS with this PEM certificate and key. */
  https?: { cert: string; key: string };
}

export function buildRouterServer(dependencies: RouterDependencies): FastifyInstance {
  // a client that stops sending must not hold a connection forever
  const requestTimeouts = {
    requestTimeout: dependencies.settings.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.ceil(dependencies.settings.requestTimeoutMs / 4)),
  };
  const app = Fastify({
    logger: false,
    ...problemServerOptions(dependencies.logger),
    bodyLimit: dependencies.settings.maxBodyBytes,
    // Fastify sets its requestTimeout after Node built the server, which Node then ignores: the
    // timeout goes to the constructor, with a checking interval that fits it (30 s by default)
    requestTimeout: dependencies.settings.requestTimeoutMs,
    http: requestTimeouts,
    ...(dependencies.https ? { https: { ...dependencies.https, ...requestTimeouts } } : {}),
  }) as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(contentTypes), { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  installProblemHandlers(app, dependencies.logger);
  registerOpenApi(app);
  // a plugin, so the routes are added after the OpenAPI generator is listening for them
  app.register(async (routes) => {
    registerEventRoutes(routes, dependencies);
    registerHealthRoutes(routes, dependencies);
    registerOpenApiRoute(routes);
  });
  return app;
}
