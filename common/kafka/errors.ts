/**
 * Turns kafkajs errors into SluiceErrors named for what to do about them, by the protocol error
 * type Kafka answered and kafkajs' error names and `retriable` flag, never by message text:
 * - fenced: another producer took our transactional id (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH);
 * - denied / login refused (KAFKA_AUTH_FAILED) and misconfigured: no retry will help (ACLs,
 *   SASL credentials, unsupported settings);
 * - unavailable: no broker answered (connection errors, timeouts), also after kafkajs' retries;
 * - request failed: a broker answered with another error, retriable as kafkajs says (INVALID_TXN_STATE lands here: the
 *   transaction is broken, not taken over, so a new producer under our lease fixes it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorCode, SluiceError } from '../errors.ts';

const fencedTypes = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']);

/**
 * Answers about what we may do (every `*_AUTHORIZATION_FAILED`: topic, group, cluster,
 * transactional id...) and who we are (SASL): an operator must change ACLs or credentials.
 */
const deniedType = /_AUTHORIZATION_FAILED$/;
const refusedLoginTypes = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const refusedLoginNames = new Set(['KafkaJSSASLAuthenticationError']);

/** Answers about settings this broker refuses: an operator must change the configuration. */
const misconfiguredTypes = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_TRANSACTION_TIMEOUT',
  'INVALID_REQUIRED_ACKS',
  'INVALID_CONFIG',
  'RECORD_LIST_TOO_LARGE',
]);

/** kafkajs errors that mean no broker answered. */
const unavailableNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSLockTimeout',
]);

/** Node's socket error codes (a connection refused, reset or timed out under kafkajs). */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  code?: string | number;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  /** KafkaJSAggregateError (e.g. createTopics): one error per resource. */
  errors?: KafkaJsErrorLike[];
}

/** The chain with the per-resource errors of aggregates (createTopics answers one per topic). */
function withAggregated(links: KafkaJsErrorLike[]): KafkaJsErrorLike[] {
  return links.flatMap((link) => [link, ...(Array.isArray(link.errors) ? link.errors : [])]);
}

/** The error and those it wraps (kafkajs' retrier keeps the last failure as originalError or cause). */
export function chain(error: unknown): KafkaJsErrorLike[] {
  const found: KafkaJsErrorLike[] = [];
  let current = error as KafkaJsErrorLike | undefined;
  while (current && typeof current === 'object' && found.length < 6 && !found.includes(current)) {
    found.push(current);
    current = (current.cause ?? current.originalError) as KafkaJsErrorLike | undefined;
  }
  return found;
}

export type KafkaErrorClass =
  | 'fenced'
  | 'denied'
  | 'login-refused'
  | 'misconfigured'
  | 'unavailable'
  | 'retriable'
  | 'failed';

/** What a kafkajs failure means, from its protocol type, its names and its retriable flags. */
export function classifyKafkaError(error: unknown): KafkaErrorClass {
  const links = withAggregated(chain(error));
  const hasType = (types: Set<string>) => links.some((link) => types.has(link.type ?? ''));
  if (hasType(fencedTypes)) return 'fenced';
  if (links.some((link) => deniedType.test(link.type ?? ''))) return 'denied';
  if (hasType(refusedLoginTypes) || links.some((link) => refusedLoginNames.has(link.name ?? '')))
    return 'login-refused';
  if (hasType(misconfiguredTypes)) return 'misconfigured';
  // a broker answered: its protocol error says whether asking again can help
  const protocol = links.find((link) => link.type !== undefined);
  if (protocol) return protocol.retriable === false ? 'failed' : 'retriable';
  if (
    links.some((link) => unavailableNames.has(link.name ?? '') || socketCodes.has(String(link.code ?? '')))
  ) {
    return 'unavailable';
  }
  return links.some((link) => link.retriable === false) ? 'failed' : 'retriable';
}

/** True when the error (or one it wraps) says another producer took over our transactional id. */
export function isFencedError(error: unknown): boolean {
  return classifyKafkaError(error) === 'fenced';
}

const codes: Record<KafkaErrorClass, { code: ErrorCode; retriable: boolean }> = {
  fenced: { code: 'KAFKA_FENCED', retriable: false },
  denied: { code: 'KAFKA_AUTH_FAILED', retriable: false },
  'login-refused': { code: 'KAFKA_AUTH_FAILED', retriable: false },
  misconfigured: { code: 'KAFKA_MISCONFIGURED', retriable: false },
  unavailable: { code: 'KAFKA_UNAVAILABLE', retriable: true },
  retriable: { code: 'KAFKA_REQUEST_FAILED', retriable: true },
  failed: { code: 'KAFKA_REQUEST_FAILED', retriable: false },
};

/** What the message says after "<what we were doing>: ": what happened and what to do. */
function explain(kind: KafkaErrorClass, links: KafkaJsErrorLike[], error: unknown): string {
  const all = withAggregated(links);
  const answer = all.find((link) => link.type !== undefined)?.type;
  switch (kind) {
    case 'fenced':
      return 'fenced by a newer producer with the same transactional id';
    case 'denied':
      return `Kafka denied it (${all.find((link) => deniedType.test(link.type ?? ''))?.type}): our principal lacks an ACL; SECURITY.md lists the ACLs of each role`;
    case 'login-refused': {
      const refused = all.find(
        (link) => refusedLoginNames.has(link.name ?? '') || refusedLoginTypes.has(link.type ?? ''),
      );
      return `the broker refused our SASL credentials (${refused?.message}): check kafka.sasl.username and the password (kafka.sasl.passwordFile or $SLUICE_KAFKA_SASL_PASSWORD)`;
    }
    case 'misconfigured':
      return `Kafka refused a setting (${answer}): fix the configuration named in the cause`;
    case 'unavailable':
      return 'Kafka is unreachable';
    default: {
      // kafkajs drops the broker's GROUP_AUTHORIZATION_FAILED on FindCoordinator and says only this
      const hint = links.some((link) => link.name === 'KafkaJSGroupCoordinatorNotFound')
        ? ' (also what Kafka answers when our principal lacks Describe on the group: see the ACLs in SECURITY.md)'
        : '';
      return `${links[0]?.message ?? String(error)}${hint}`;
    }
  }
}

export function translateKafkaError(error: unknown, what: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const kind = classifyKafkaError(error);
  const { code, retriable } = codes[kind];
  return new SluiceError(code, `${what}: ${explain(kind, chain(error), error)}`, { cause: error, retriable });
}

/** Runs a kafkajs call and rethrows its failure as a SluiceError naming what we were doing. */
export async function kafkaCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateKafkaError(error, what);
  }
}

/**
 * kafkaCall for a read that is safe to repeat. kafkajs does not retry a group coordinator's
 * NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS on admin reads, and a broker answers them for a
 * few seconds after it starts or moves a group: retriable failures are tried again, with backoff,
 * for about 4 s. An unreachable Kafka fails at once (kafkajs already retried the connection).
 */
export async function kafkaReadCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await kafkaCall(what, call);
    } catch (error) {
      const failure = error as SluiceError;
      if (attempt >= 6 || !failure.retriable || failure.code === 'KAFKA_UNAVAILABLE') throw error;
      await sleep(250 * attempt);
    }
  }
}
