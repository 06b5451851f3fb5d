/** kafkajs failures named for what to do, by protocol type, names and retriable flags: never by message text. */
import { describe, expect, it } from 'vitest';
import { kindOf } from '../../../common/errors.ts';
import { classifyKafkaError, kafkaCall, translateKafkaError } from '../../../common/kafka/errors.ts';

const protocol = (type: string, retriable: boolean, message = 'broker said no') =>
  Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type, retriable });
/** What kafkajs' retrier throws for an error it will not retry. */
const nonRetriable = (cause: Error) =>
  Object.assign(new Error(cause.message, { cause }), { name: 'KafkaJSNonRetriableError', retriable: false });

describe('classifyKafkaError', () => {
  it('takes only a producer fencing for fenced, whatever the message says', () => {
    expect(classifyKafkaError(protocol('PRODUCER_FENCED', false))).toBe('fenced');
    expect(classifyKafkaError(nonRetriable(protocol('INVALID_PRODUCER_EPOCH', false)))).toBe('fenced');
    // a leader epoch is not a producer epoch; a broken transaction is not a takeover
    expect(classifyKafkaError(protocol('FENCED_LEADER_EPOCH', true, 'fenced epoch'))).toBe('retriable');
    expect(classifyKafkaError(nonRetriable(protocol('INVALID_TXN_STATE', false)))).toBe('failed');
    expect(classifyKafkaError(new Error('producer fenced, old epoch'))).toBe('retriable');
  });

  it('stops for authorization and settings no retry can fix', () => {
    expect(classifyKafkaError(nonRetriable(protocol('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false)))).toBe(
      'denied',
    );
    expect(classifyKafkaError(protocol('TOPIC_AUTHORIZATION_FAILED', false))).toBe('denied');
    expect(
      classifyKafkaError(
        Object.assign(new Error('bad password'), { name: 'KafkaJSSASLAuthenticationError' }),
      ),
    ).toBe('login-refused');
    expect(classifyKafkaError(protocol('INVALID_TRANSACTION_TIMEOUT', false))).toBe('misconfigured');
  });

  it('takes no answer from any broker for unavailable, also after the retries ran out', () => {
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
    });
    expect(classifyKafkaError(refused)).toBe('unavailable');
    expect(
      classifyKafkaError(
        Object.assign(new Error('gave up', { cause: refused }), {
          name: 'KafkaJSNumberOfRetriesExceeded',
          retriable: false,
        }),
      ),
    ).toBe('unavailable');
    expect(classifyKafkaError(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBe(
      'unavailable',
    );
  });

  it("follows the broker's answer and kafkajs' retriable flag for the rest", () => {
    expect(classifyKafkaError(protocol('NOT_COORDINATOR', true))).toBe('retriable');
    expect(classifyKafkaError(nonRetriable(protocol('NOT_COORDINATOR', true)))).toBe('retriable');
    expect(classifyKafkaError(nonRetriable(new Error('Transaction state exception')))).toBe('failed');
    // a message that merely mentions a connection or a timeout decides nothing
    expect(classifyKafkaError(new Error('could not connect: timeout'))).toBe('retriable');
  });
});

describe('translateKafkaError', () => {
  it('gives each class its code, kind and retriable flag, keeping the cause', () => {
    const fenced = translateKafkaError(protocol('PRODUCER_FENCED', false), 'committing');
    expect(fenced).toMatchObject({ code: 'KAFKA_FENCED', retriable: false });
    expect(kindOf(fenced)).toBe('fenced');
    const denied = translateKafkaError(protocol('GROUP_AUTHORIZATION_FAILED', false), 'committing');
    expect(denied).toMatchObject({ code: 'KAFKA_AUTH_FAILED', retriable: false });
    expect(denied.message).toMatch(
      /Kafka denied it \(GROUP_AUTHORIZATION_FAILED\): our principal lacks an ACL/,
    );
    expect(kindOf(denied)).toBe('fatal');
    const broken = translateKafkaError(nonRetriable(protocol('INVALID_TXN_STATE', false)), 'committing');
    expect(broken).toMatchObject({ code: 'KAFKA_REQUEST_FAILED', retriable: false });
    expect(kindOf(broken)).toBe('failed');
    expect(kindOf(translateKafkaError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 'x'))).toBe(
      'unavailable',
    );
  });

  it('leaves a SluiceError as it is', async () => {
    const original = translateKafkaError(protocol('PRODUCER_FENCED', false), 'sending');
    await expect(
      kafkaCall('again', async () => {
        throw original;
      }),
    ).rejects.toBe(original);
  });
});
