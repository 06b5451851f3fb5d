/** The processor's HTTP errors as RFC 9457 problem details, shaped like the router's. */
import type { FastifyReply } from 'fastify';

export function sendProcessorProblem(
  reply: FastifyReply,
  status: number,
  title: string,
  detail: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://sluice.dev/problems/processor-${title.toLowerCase().replaceAll(' ', '-')}`,
      title,
      status,
      detail,
      instance: reply.request.url,
    });
}
