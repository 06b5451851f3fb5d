/**
 * Answers a state query this instance cannot answer itself by forwarding it, once, to the
 * partition's owner (the slot's lease holder), under the caller's identity. A forwarded query is
 * never forwarded again, so two instances that each think the other owns a partition answer 503.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProcessorProblem as problem } from '../http-problem.ts';

const forwardedHeader = 'x-sluice-forwarded';
/** Headers that carry the caller's key: a forwarded query is answered under the caller's identity. */
const identityHeaders = ['authorization', 'x-api-key'];

export async function forwardToOwner(
  request: FastifyRequest,
  reply: FastifyReply,
  partition: number,
  context: {
    ownerAddress(partition: number): Promise<string | undefined>;
    selfAddress(): string;
  },
): Promise<FastifyReply> {
  const owner = await context.ownerAddress(partition);
  if (!owner || owner === context.selfAddress() || request.headers[forwardedHeader]) {
    return problem(
      reply,
      503,
      'Owner unavailable',
      `no instance answers for partition ${partition} now; retry`,
    );
  }
  const caller = Object.fromEntries(
    identityHeaders.flatMap((name) => {
      const value = request.headers[name];
      return typeof value === 'string' ? [[name, value]] : [];
    }),
  );
  const response = await fetch(new URL(request.url, owner), {
    headers: { ...caller, [forwardedHeader]: '1' },
    signal: AbortSignal.timeout(5000),
  }).catch(() => undefined);
  if (!response) {
    return problem(
      reply,
      503,
      'Owner unavailable',
      `the owner ${owner} of partition ${partition} did not answer`,
    );
  }
  return reply
    .code(response.status)
    .type(response.headers.get('content-type') ?? 'application/json')
    .header('x-sluice-forwarded-to', owner)
    .send(Buffer.from(await response.arrayBuffer()));
}
