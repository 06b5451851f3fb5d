/**
 * What the partition reader does with a failure: retry it (leader moved, broker restarting or
 * down, a timeout), resolve an offset out of range, wait a while for a topic that is missing (it
 * may have just been created), or stop (what retrying cannot fix).
 */

import { SluiceError } from '../errors.ts';
import { chain, classifyKafkaError, translateKafkaError } from './errors.ts';

export type ReadErrorKind = 'retriable' | 'out-of-range' | 'topic-missing' | 'fatal';

const topicMissingTypes = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);

/** A topic absent from the metadata for this long is taken as deleted (or never created). */
export const topicMissingFatalAfterMs = 10_000;

export function classifyReadError(error: unknown): ReadErrorKind {
  const links = chain(error);
  if (links.some((link) => link.name === 'KafkaJSOffsetOutOfRange')) return 'out-of-range';
  const kind = classifyKafkaError(error);
  if (kind === 'denied' || kind === 'login-refused' || kind === 'misconfigured') return 'fatal';
  if (links.some((link) => topicMissingTypes.has(link.type ?? ''))) return 'topic-missing';
  return 'retriable';
}

/** 100 ms after the first failure, doubling up to 2 s: a restarting broker is found quickly, a dead one is not hammered. */
export function readBackoffMs(failures: number): number {
  return Math.min(100 * 2 ** Math.max(0, failures - 1), 2000);
}

/** The error a reader that stopped reports: what went wrong and what to do. */
export function explainReadError(error: unknown, topic: string): SluiceError {
  if (classifyReadError(error) === 'topic-missing') {
    return new SluiceError(
      'KAFKA_REQUEST_FAILED',
      `reading ${topic}: the topic does not exist (deleted, or never created); create it or fix the name`,
      { cause: error, retriable: false },
    );
  }
  return translateKafkaError(error, `reading ${topic}`);
}
