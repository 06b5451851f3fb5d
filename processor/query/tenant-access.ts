/** Tenant API keys read only their tenant's state (operator keys read everything). */
import type { FastifyReply } from 'fastify';
import type { Identity } from '../../common/auth/key-store.ts';
import { sendProcessorProblem as problem } from '../http-problem.ts';

/** A tenant key reads only its tenant's state; said before any lookup, so it tells nothing. */
export function refuseOtherTenant(
  reply: FastifyReply,
  identity: Identity | undefined,
  tenant: string | undefined,
  what: string,
): FastifyReply | undefined {
  if (identity?.role !== 'tenant' || identity.tenant === tenant) return undefined;
  return problem(
    reply,
    403,
    'Forbidden tenant',
    tenant === undefined
      ? `key ${identity.keyId} belongs to tenant ${identity.tenant}; ${what} is not per tenant, so only operator keys read it`
      : `key ${identity.keyId} belongs to tenant ${identity.tenant} and may read only its state`,
  );
}
