/** Turns kafkajs errors into SluiceErrors: unavailable, fenced, or a failed request. */
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../errors.ts';

const unavailableNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNonRetriableError',
  'KafkaJSLockTimeout',
]);

const fencedTypes = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TXN_STATE',
]);

export interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  /** KafkaJSAggregateError (e.g. createTopics): one error per resource. */
  errors?: KafkaJsErrorLike[];
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and those it wraps (kafkajs' retrier keeps the last failure as originalError). */
export function chain(error: unknown): KafkaJsErrorLike[] {
  const found: KafkaJsErrorLike[] = [];
  let current = error as KafkaJsErrorLike | undefined;
  while (current && typeof current === 'object' && found.length < 6) {
    found.push(current);
    current = (current.cause ?? current.originalError) as KafkaJsErrorLike | undefined;
  }
  return found;
}

/** True when the error (or one it wraps) says another producer took over our transactional id. */
export function isFencedError(error: unknown): boolean {
  return chain(error).some(
    (link) =>
      (link.type !== undefined && fencedTypes.has(link.type)) || /fenced|epoch/i.test(link.message ?? ''),
  );
}

export function translateKafkaError(error: unknown, what: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const links = chain(error);
  if (isFencedError(error)) {
    return new SluiceError(
      'KAFKA_FENCED',
      `${what}: fenced by a newer producer with the same transactional id`,
      {
        cause: error,
      },
    );
  }
  const denied = links
    .flatMap((link) => [link, ...(Array.isArray(link.errors) ? link.errors : [])])
    .find((link) => /AUTHORIZATION_FAILED$/.test(link.type ?? ''));
  if (denied) {
    return new SluiceError(
      'KAFKA_AUTH_FAILED',
      `${what}: Kafka denied it (${denied.type}): our principal lacks an ACL; SECURITY.md lists the ACLs of each role`,
      { cause: error },
    );
  }
  const refused = links.find((link) => link.name === 'KafkaJSSASLAuthenticationError');
  if (refused) {
    return new SluiceError(
      'KAFKA_AUTH_FAILED',
      `${what}: the broker refused our SASL credentials (${refused.message}): check kafka.sasl.username and the password (kafka.sasl.passwordFile or $SLUICE_KAFKA_SASL_PASSWORD)`,
      { cause: error },
    );
  }
  if (
    links.some(
      (link) =>
        unavailableNames.has(link.name ?? '') || /ECONNREFUSED|connect|timeout/i.test(link.message ?? ''),
    )
  ) {
    return new SluiceError('KAFKA_UNAVAILABLE', `${what}: Kafka is unreachable`, { cause: error });
  }
  const retriable = links[0]?.retriable ?? true;
  // kafkajs drops the broker's GROUP_AUTHORIZATION_FAILED on FindCoordinator and says only this
  const hint = links.some((link) => link.name === 'KafkaJSGroupCoordinatorNotFound')
    ? ' (also what Kafka answers when our principal lacks Describe on the group: see the ACLs in SECURITY.md)'
    : '';
  return new SluiceError('KAFKA_REQUEST_FAILED', `${what}: ${links[0]?.message ?? String(error)}${hint}`, {
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
