/**
 * The processor's HTTP port: /healthz (process up), /readyz (every owned partition has a running
 * task), /metrics (Prometheus), behind API keys when `auth` is given, over HTTPS when `https` is.
 * Built, not listening, so tests can inject.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { type ProcessorAuthOptions, registerProcessorAuth } from './http-auth.ts';
import type { MetricsSource } from './workers/pool-metrics.ts';

export interface ProcessorHttpOptions {
  /** A prom-client Registry, or the main thread's and workers' metrics joined (workers/pool-metrics.ts). */
  metrics: MetricsSource;
  /** Why the instance is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
  /** Adds more routes (state queries, status). */
  routes?: (app: FastifyInstance) => void;
  auth?: ProcessorAuthOptions;
  /** PEM certificate and key texts. */
  https?: { cert: string; key: string };
}

export function buildProcessorHttp(options: ProcessorHttpOptions): FastifyInstance {
  // one Fastify type for both: the https variant differs only in its server's type
  const app = Fastify({
    logger: false,
    ...(options.https ? { https: options.https } : {}),
  }) as FastifyInstance;
  if (options.auth) registerProcessorAuth(app, options.auth);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = options.notReadyReason();
    if (reason) return reply.code(503).send({ status: 'not ready', reason });
    return { status: 'ready' };
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.contentType).send(await options.metrics.metrics()),
  );
  options.routes?.(app);
  return app;
}
