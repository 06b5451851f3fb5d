import { describe, expect, it } from 'vitest';
import { translateKafkaError } from '../../../common/kafka/errors.ts';

describe('security failures from kafkajs become errors that say what to fix', () => {
  it('a refused SASL login is KAFKA_AUTH_FAILED, not retriable', () => {
    const error = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), {
      name: 'KafkaJSSASLAuthenticationError',
      retriable: false,
    });
    const translated = translateKafkaError(error, 'connecting to Kafka (admin)');
    expect(translated).toMatchObject({ code: 'KAFKA_AUTH_FAILED', retriable: false });
    expect(translated.message).toMatch(/refused our SASL credentials .* check kafka\.sasl\.username/);
  });

  it('an authorization failure, also inside an aggregate (createTopics), names the missing ACL', () => {
    const aggregate = Object.assign(new Error('Topic creation errors'), {
      name: 'KafkaJSAggregateError',
      errors: [Object.assign(new Error('Not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' })],
    });
    const translated = translateKafkaError(aggregate, 'creating topics api-stats');
    expect(translated).toMatchObject({ code: 'KAFKA_AUTH_FAILED', retriable: false });
    expect(translated.message).toBe(
      'creating topics api-stats: Kafka denied it (TOPIC_AUTHORIZATION_FAILED): our principal lacks an ACL; SECURITY.md lists the ACLs of each role',
    );
  });

  it('a group coordinator not found hints at a missing group ACL', () => {
    const error = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
      retriable: true,
    });
    expect(translateKafkaError(error, 'reading committed offsets of app').message).toMatch(
      /lacks Describe on the group: see the ACLs in SECURITY\.md/,
    );
  });
});
