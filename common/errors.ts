/**
 * The one base error of sluice. Every error we raise on purpose carries a code from the closed
 * list below, says whether retrying can help, and keeps the underlying cause. Callers branch on
 * `code`, `kind` and `retriable`, never on message text.
 *
 * Each code belongs to one kind, named for what the processor does about it (the recovery policy,
 * processor/task/recovery-policy.ts, applies them):
 * - `unavailable`: a dependency (Kafka, the registry) cannot be reached: pause what needs it,
 *   back off with jitter, resume when it answers;
 * - `fenced`: another producer took the partition's transactional id (a task migrated away);
 * - `corrupted`: the local state cannot be trusted: wipe the store and restore it;
 * - `fatal`: configuration or authorization that no retry fixes: stop the instance (exit 1) with a
 *   message that says what to fix;
 * - `failed`: this attempt failed (an aborted transaction, a store locked for a moment): redo it;
 * - `rejected`: a caller's request is refused (the router answers it; nothing to recover).
 */

export type ErrorKind = 'unavailable' | 'fenced' | 'corrupted' | 'fatal' | 'failed' | 'rejected';

export const errorCodes = {
  // configuration and start-up
  CONFIG_INVALID: { retriable: false, kind: 'fatal' },
  // local development services (sluice dev, test harness)
  DEV_TOOL_MISSING: { retriable: false, kind: 'fatal' },
  DEV_DOWNLOAD_FAILED: { retriable: true, kind: 'unavailable' },
  DEV_PORT_IN_USE: { retriable: false, kind: 'fatal' },
  DEV_START_FAILED: { retriable: false, kind: 'fatal' },
  // Kafka
  KAFKA_UNAVAILABLE: { retriable: true, kind: 'unavailable' },
  KAFKA_REQUEST_FAILED: { retriable: true, kind: 'failed' },
  KAFKA_FENCED: { retriable: false, kind: 'fenced' },
  KAFKA_TOPIC_MISMATCH: { retriable: false, kind: 'fatal' },
  /** The broker refused our SASL credentials or our certificate, or denied an operation (ACLs). */
  KAFKA_AUTH_FAILED: { retriable: false, kind: 'fatal' },
  /** The TLS handshake failed on certificates (untrusted CA, expired, wrong host name). */
  KAFKA_TLS_FAILED: { retriable: false, kind: 'fatal' },
  /** The broker refused a setting (an unsupported version, compression, transaction timeout...). */
  KAFKA_MISCONFIGURED: { retriable: false, kind: 'fatal' },
  // router (HTTP status in router/problems.ts)
  ROUTER_UNKNOWN_STREAM: { retriable: false, kind: 'rejected' },
  ROUTER_UNSUPPORTED_MEDIA_TYPE: { retriable: false, kind: 'rejected' },
  ROUTER_BODY_TOO_LARGE: { retriable: false, kind: 'rejected' },
  ROUTER_MALFORMED_BODY: { retriable: false, kind: 'rejected' },
  ROUTER_TOO_MANY_EVENTS: { retriable: false, kind: 'rejected' },
  ROUTER_INVALID_EVENTS: { retriable: false, kind: 'rejected' },
  ROUTER_UNAUTHORIZED: { retriable: false, kind: 'rejected' },
  ROUTER_FORBIDDEN_TENANT: { retriable: false, kind: 'rejected' },
  ROUTER_RATE_LIMITED: { retriable: true, kind: 'rejected' },
  ROUTER_OVERLOADED: { retriable: true, kind: 'rejected' },
  ROUTER_NOT_ACKNOWLEDGED: { retriable: true, kind: 'rejected' },
  ROUTER_NOT_FOUND: { retriable: false, kind: 'rejected' },
  ROUTER_METHOD_NOT_ALLOWED: { retriable: false, kind: 'rejected' },
  ROUTER_BAD_REQUEST: { retriable: false, kind: 'rejected' },
  ROUTER_URI_TOO_LONG: { retriable: false, kind: 'rejected' },
  ROUTER_HEADERS_TOO_LARGE: { retriable: false, kind: 'rejected' },
  ROUTER_REQUEST_TIMEOUT: { retriable: true, kind: 'rejected' },
  /** The stream's schema id is not known yet (the registry did not answer): 503, retried by itself. */
  ROUTER_SCHEMA_UNAVAILABLE: { retriable: true, kind: 'rejected' },
  // local state and tasks
  STORE_IN_USE: { retriable: false, kind: 'failed' },
  STORE_CLOSED: { retriable: false, kind: 'failed' },
  /** Another live process holds the instance's state directory (cluster mode): never shared. */
  STATE_DIR_IN_USE: { retriable: false, kind: 'fatal' },
  TASK_CORRUPTED: { retriable: true, kind: 'corrupted' },
  /** The input's committed offset is gone (retention) and processor.offsetReset is `fail`. */
  INPUT_OUT_OF_RANGE: { retriable: false, kind: 'fatal' },
  // operations
  APP_RUNNING: { retriable: false, kind: 'fatal' },
  // schemas and the registry
  SCHEMA_INVALID: { retriable: false, kind: 'fatal' },
  SCHEMA_INCOMPATIBLE: { retriable: false, kind: 'fatal' },
  REGISTRY_UNAVAILABLE: { retriable: true, kind: 'unavailable' },
  /** The registry answered 401 or 403: our credentials (registry.auth) are missing or wrong. */
  REGISTRY_UNAUTHORIZED: { retriable: false, kind: 'fatal' },
} as const satisfies Record<string, { retriable: boolean; kind: ErrorKind }>;

export type ErrorCode = keyof typeof errorCodes;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = options?.retriable ?? errorCodes[code].retriable;
  }
}

/** Local state that cannot be trusted (unreadable, inconsistent with its changelog): wipe it and restore. */
export class TaskCorruptedError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASK_CORRUPTED', `${message}: the store will be wiped and restored from its changelog`, options);
    this.name = 'TaskCorruptedError';
  }
}

/** The kind of any thrown value: what to do about it. An error sluice did not name is `failed`. */
export function kindOf(error: unknown): ErrorKind {
  return error instanceof SluiceError ? errorCodes[error.code].kind : 'failed';
}

export function isSluiceError(error: unknown, code?: ErrorCode): error is SluiceError {
  return error instanceof SluiceError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, with its causes, for logs and CLI output. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
