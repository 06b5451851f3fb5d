/**
 * Errors as RFC 9457 problem details, and the one table that maps error codes to HTTP status.
 * Every rejection names what was wrong; 429 and 503 say when to retry.
 */
import type { FastifyReply } from 'fastify';
import { type ErrorCode, SluiceError } from '../common/errors.ts';

export interface EventError {
  /** Index of the event in the request (0-based; the line for NDJSON is index + 1). */
  index: number;
  field: string;
  reason: string;
}

const statusOf: Partial<Record<ErrorCode, { status: number; title: string }>> = {
  ROUTER_UNKNOWN_STREAM: { status: 404, title: 'Unknown stream' },
  ROUTER_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  ROUTER_BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  ROUTER_MALFORMED_BODY: { status: 400, title: 'Malformed body' },
  ROUTER_TOO_MANY_EVENTS: { status: 400, title: 'Too many events' },
  ROUTER_INVALID_EVENTS: { status: 422, title: 'Invalid events' },
  ROUTER_UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  ROUTER_FORBIDDEN_TENANT: { status: 403, title: 'Forbidden tenant' },
  ROUTER_RATE_LIMITED: { status: 429, title: 'Too many events for this tenant' },
  ROUTER_OVERLOADED: { status: 503, title: 'Router overloaded' },
  KAFKA_UNAVAILABLE: { status: 503, title: 'Kafka unavailable' },
  KAFKA_REQUEST_FAILED: { status: 503, title: 'Kafka did not acknowledge the events' },
  REGISTRY_UNAVAILABLE: { status: 503, title: 'Schema registry unavailable' },
};

/** A router error with what the reply needs beyond the code: event errors, a retry delay. */
export class RequestProblem extends SluiceError {
  readonly errors?: EventError[];
  readonly retryAfterSeconds?: number;
  readonly omittedErrors?: number;

  constructor(
    code: ErrorCode,
    message: string,
    details: {
      errors?: EventError[];
      omittedErrors?: number;
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.errors = details.errors;
    this.omittedErrors = details.omittedErrors;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

export function problemStatus(code: ErrorCode): number {
  return statusOf[code]?.status ?? 500;
}

/** Sends an error as problem details; unknown errors become a 500 without internals. */
export function sendProblem(reply: FastifyReply, error: unknown, instance: string): FastifyReply {
  const known = error instanceof SluiceError ? error : undefined;
  const entry = known ? statusOf[known.code] : undefined;
  const status = entry?.status ?? 500;
  const problem = error instanceof RequestProblem ? error : undefined;
  const retryAfter = problem?.retryAfterSeconds ?? (status === 503 ? 1 : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://sluice.dev/problems/${(known?.code ?? 'internal').toLowerCase().replaceAll('_', '-')}`,
      title: entry?.title ?? 'Internal error',
      status,
      detail: entry
        ? known!.message
        : 'the router failed unexpectedly; nothing of this request was acknowledged',
      instance,
      ...(problem?.errors ? { errors: problem.errors } : {}),
      ...(problem?.omittedErrors ? { omittedErrors: problem.omittedErrors } : {}),
    });
}
