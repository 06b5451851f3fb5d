/** GET /healthz (the process runs), /readyz (Kafka and the registry answer), /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { RouterDependencies } from '../server.ts';

export function registerHealthRoutes(app: FastifyInstance, dependencies: RouterDependencies): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = await dependencies.notReadyReason();
    if (reason) return reply.code(503).header('retry-after', '1').send({ status: 'not ready', reason });
    return { status: 'ready' };
  });
  app.get('/metrics', async (_request, reply) =>
    reply
      .type(dependencies.metricsRegistry.contentType)
      .send(await (dependencies.metricsText?.() ?? dependencies.metricsRegistry.metrics())),
  );
}
