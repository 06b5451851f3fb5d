/**
 * Who may use a processor's HTTP port, with the routers' API keys (common/auth/): a tenant key
 * reads its own tenant's state (query-routes.ts checks the tenant), an operator key reads every
 * tenant's state and the status page and API; /healthz, /readyz and /metrics are open unless
 * `openProbes` is off, for probes and scrapers. Every other path is for operators.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Identity, type KeyStore, presentedKey } from '../common/auth/key-store.ts';
import { sendProcessorProblem } from './http-problem.ts';

export interface ProcessorAuthOptions {
  keys: KeyStore;
  /** @default true */
  openProbes?: boolean;
}

const probes = new Set(['/healthz', '/readyz', '/metrics']);
const identities = new WeakMap<FastifyRequest, Identity>();

/** The identity the request's key proved; undefined when auth is off (or for an open probe). */
export function identityOf(request: FastifyRequest): Identity | undefined {
  return identities.get(request);
}

export function registerProcessorAuth(app: FastifyInstance, options: ProcessorAuthOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (probes.has(path) && options.openProbes !== false) return;
    const key = presentedKey(request.headers);
    const identity = key === undefined ? undefined : options.keys.identify(key);
    if (!identity) {
      reply.header('www-authenticate', 'Bearer realm="sluice"');
      return sendProcessorProblem(
        reply,
        401,
        'Unauthorized',
        key === undefined ? 'missing API key: send Authorization: Bearer <key>' : 'unknown API key',
      );
    }
    const stateQuery = path.startsWith('/v1/apps/');
    if (!stateQuery && !probes.has(path) && identity.role !== 'operator') {
      return sendProcessorProblem(
        reply,
        403,
        'Forbidden',
        `key ${identity.keyId} is a tenant key: ${path} needs an operator key`,
      );
    }
    identities.set(request, identity);
  });
}
