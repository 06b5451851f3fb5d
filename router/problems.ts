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
  ROUTER_NOT_ACKNOWLEDGED: { status: 503, title: 'Kafka did not acknowledge in time' },
  ROUTER_SCHEMA_UNAVAILABLE: { status: 503, title: 'Schema id not known yet' },
  ROUTER_NOT_FOUND: { status: 404, title: 'Not found' },
  ROUTER_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  ROUTER_BAD_REQUEST: { status: 400, title: 'Bad request' },
  ROUTER_URI_TOO_LONG: { status: 414, title: 'URI too long' },
  ROUTER_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  ROUTER_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  KAFKA_UNAVAILABLE: { status: 503, title: 'Kafka unavailable' },
  KAFKA_REQUEST_FAILED: { status: 503, title: 'Kafka did not acknowledge the events' },
  REGISTRY_UNAVAILABLE: { status: 503, title: 'Schema registry unavailable' },
};

/** A router error with what the reply needs beyond the code: event errors, a retry delay. */
export class RequestProblem extends SluiceError {
  readonly errors?: EventError[];
  readonly retryAfterSeconds?: number;
  readonly omittedErrors?: number;
  /** For a 405: the methods the resource has. */
  readonly allow?: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    details: {
      errors?: EventError[];
      omittedErrors?: number;
      retryAfterSeconds?: number;
      allow?: readonly string[];
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.allow = details.allow;
    this.errors = details.errors;
    this.omittedErrors = details.omittedErrors;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

export function problemStatus(code: ErrorCode): number {
  return statusOf[code]?.status ?? 500;
}

export const problemContentType = 'application/problem+json';

/** The problem-details document and the headers it needs (Retry-After, Allow, WWW-Authenticate). */
export function problemOf(
  error: unknown,
  instance: string,
): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const known = error instanceof SluiceError ? error : undefined;
  const entry = known ? statusOf[known.code] : undefined;
  const status = entry?.status ?? 500;
  const problem = error instanceof RequestProblem ? error : undefined;
  const headers: Record<string, string> = {};
  const retryAfter = problem?.retryAfterSeconds ?? (status === 503 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (problem?.allow) headers.allow = problem.allow.join(', ');
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="sluice"';
  return {
    status,
    headers,
    body: {
      type: `https://sluice.dev/problems/${(known?.code ?? 'internal').toLowerCase().replaceAll('_', '-')}`,
      title: entry?.title ?? 'Internal error',
      status,
      detail: entry
        ? known!.message
        : 'the router failed unexpectedly; nothing of this request was acknowledged',
      instance,
      ...(problem?.errors ? { errors: problem.errors } : {}),
      ...(problem?.omittedErrors ? { omittedErrors: problem.omittedErrors } : {}),
    },
  };
}

/** Sends an error as problem details; unknown errors become a 500 without internals. */
export function sendProblem(reply: FastifyReply, error: unknown, instance: string): FastifyReply {
  const { status, headers, body } = problemOf(error, instance);
  return reply.code(status).headers(headers).type(problemContentType).send(body);
}
