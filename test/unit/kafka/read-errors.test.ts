/** What the partition reader does with each kind of failure, and how long it waits before retrying. */
import { describe, expect, it } from 'vitest';
import { classifyReadError, explainReadError, readBackoffMs } from '../../../common/kafka/read-errors.ts';

describe('classifyReadError', () => {
  it('retries what a broker restart or a leader move answers', () => {
    for (const error of [
      Object.assign(new Error('closed'), { name: 'KafkaJSConnectionClosedError' }),
      Object.assign(new Error('refused'), { name: 'KafkaJSConnectionError' }),
      Object.assign(new Error('not leader'), {
        name: 'KafkaJSProtocolError',
        type: 'NOT_LEADER_OR_FOLLOWER',
      }),
      Object.assign(new Error('epoch'), { name: 'KafkaJSProtocolError', type: 'FENCED_LEADER_EPOCH' }),
      new Error('something kafkajs did not name'),
    ]) {
      expect(classifyReadError(error)).toBe('retriable');
    }
  });

  it('finds the cause under kafkajs retrier wrappers', () => {
    const denied = Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    const exhausted = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      originalError: denied,
    });
    expect(classifyReadError(exhausted)).toBe('fatal');
    const missing = Object.assign(new Error('unknown'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    expect(classifyReadError(new Error('wrapped', { cause: missing }))).toBe('topic-missing');
  });

  it('tells an offset out of range apart', () => {
    expect(classifyReadError(Object.assign(new Error('range'), { name: 'KafkaJSOffsetOutOfRange' }))).toBe(
      'out-of-range',
    );
  });
});

describe('readBackoffMs', () => {
  it('starts at 100 ms, doubles, and stays at 2 s', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(readBackoffMs)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });
});

describe('explainReadError', () => {
  it('says a missing topic does not exist and what to do', () => {
    const missing = Object.assign(new Error('unknown'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const explained = explainReadError(missing, 'orders');
    expect(explained.message).toBe(
      'reading orders: the topic does not exist (deleted, or never created); create it or fix the name',
    );
    expect(explained.retriable).toBe(false);
    expect(explained.cause).toBe(missing);
  });
});
