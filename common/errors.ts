/**
 * The one base error of sluice. Every error we raise on purpose carries a code from the closed
 * list below, says whether retrying can help, and keeps the underlying cause. Callers branch on
 * `code` and `retriable`, never on message text.
 */

export const errorCodes = {
  // configuration and start-up
  CONFIG_INVALID: { retriable: false },
  // local development services (sluice dev, test harness)
  DEV_TOOL_MISSING: { retriable: false },
  DEV_DOWNLOAD_FAILED: { retriable: true },
  DEV_PORT_IN_USE: { retriable: false },
  DEV_START_FAILED: { retriable: false },
  // Kafka
  KAFKA_UNAVAILABLE: { retriable: true },
  KAFKA_REQUEST_FAILED: { retriable: true },
  KAFKA_FENCED: { retriable: false },
  KAFKA_TOPIC_MISMATCH: { retriable: false },
  /** The broker refused our SASL credentials, or our certificate. */
  KAFKA_AUTH_FAILED: { retriable: false },
  /** The TLS handshake failed on certificates (untrusted CA, expired, wrong host name). */
  KAFKA_TLS_FAILED: { retriable: false },
  // router (HTTP status in router/problems.ts)
  ROUTER_UNKNOWN_STREAM: { retriable: false },
  ROUTER_UNSUPPORTED_MEDIA_TYPE: { retriable: false },
  ROUTER_BODY_TOO_LARGE: { retriable: false },
  ROUTER_MALFORMED_BODY: { retriable: false },
  ROUTER_TOO_MANY_EVENTS: { retriable: false },
  ROUTER_INVALID_EVENTS: { retriable: false },
  ROUTER_UNAUTHORIZED: { retriable: false },
  ROUTER_FORBIDDEN_TENANT: { retriable: false },
  ROUTER_RATE_LIMITED: { retriable: true },
  ROUTER_OVERLOADED: { retriable: true },
  ROUTER_NOT_ACKNOWLEDGED: { retriable: true },
  ROUTER_NOT_FOUND: { retriable: false },
  ROUTER_METHOD_NOT_ALLOWED: { retriable: false },
  ROUTER_BAD_REQUEST: { retriable: false },
  ROUTER_URI_TOO_LONG: { retriable: false },
  ROUTER_HEADERS_TOO_LARGE: { retriable: false },
  ROUTER_REQUEST_TIMEOUT: { retriable: true },
  // local state
  STORE_IN_USE: { retriable: false },
  STORE_CLOSED: { retriable: false },
  // operations
  APP_RUNNING: { retriable: false },
  // schemas and the registry
  SCHEMA_INVALID: { retriable: false },
  SCHEMA_INCOMPATIBLE: { retriable: false },
  REGISTRY_UNAVAILABLE: { retriable: true },
  /** The registry answered 401 or 403: our credentials (registry.auth) are missing or wrong. */
  REGISTRY_UNAUTHORIZED: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

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
