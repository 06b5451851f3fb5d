/**
 * Turns kafkajs errors into SluiceErrors named for what to do about them, by the protocol error
 * type Kafka answered and kafkajs' error names and `retriable` flag, never by message text:
 * - fenced: another producer took our transactional id (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH);
 * - unauthorized / misconfigured: no retry will help (authorization, SASL, unsupported settings);
 * - unavailable: no broker answered (connection errors, timeouts), also after kafkajs' retries;
 * - request failed: a broker answered with another error, retriable as kafkajs says (INVALID_TXN_STATE lands here: the
 *   transaction is broken, not taken over, so a new producer under our lease fixes it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorCode, SluiceError } from '../errors.ts';

const fencedTypes = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']);

/** Answers about who we are or what we may do: an operator must change credentials or ACLs. */
const unauthorizedTypes = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
const unauthorizedNames = new Set(['KafkaJSSASLAuthenticationError']);

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
  | 'unauthorized'
  | 'misconfigured'
  | 'unavailable'
  | 'retriable'
  | 'failed';

/** What a kafkajs failure means, from its protocol type, its names and its retriable flags. */
export function classifyKafkaError(error: unknown): KafkaErrorClass {
  const links = chain(error);
  const hasType = (types: Set<string>) => links.some((link) => types.has(link.type ?? ''));
  if (hasType(fencedTypes)) return 'fenced';
  if (hasType(unauthorizedTypes) || links.some((link) => unauthorizedNames.has(link.name ?? '')))
    return 'unauthorized';
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

const translations: Record<KafkaErrorClass, { code: ErrorCode; retriable: boolean; say: string }> = {
  fenced: {
    code: 'KAFKA_FENCED',
    retriable: false,
    say: 'fenced by a newer producer with the same transactional id',
  },
  unauthorized: {
    code: 'KAFKA_UNAUTHORIZED',
    retriable: false,
    say: 'Kafka refused our credentials or permissions; grant the ACLs (topics, group, transactional ids) or fix kafka.sasl',
  },
  misconfigured: {
    code: 'KAFKA_MISCONFIGURED',
    retriable: false,
    say: 'Kafka refused a setting; fix the configuration named in the cause',
  },
  unavailable: { code: 'KAFKA_UNAVAILABLE', retriable: true, say: 'Kafka is unreachable' },
  retriable: { code: 'KAFKA_REQUEST_FAILED', retriable: true, say: '' },
  failed: { code: 'KAFKA_REQUEST_FAILED', retriable: false, say: '' },
};

export function translateKafkaError(error: unknown, what: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const { code, retriable, say } = translations[classifyKafkaError(error)];
  const links = chain(error);
  const detail = say || (links[0]?.message ?? String(error));
  const answer = links.find((link) => link.type !== undefined)?.type;
  return new SluiceError(code, `${what}: ${detail}${answer && say ? ` (${answer})` : ''}`, {
    cause: error,
    retriable,
  });
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
