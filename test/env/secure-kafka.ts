/**
 * A private broker with the listeners real clusters use: SASL_SSL with SCRAM-SHA-512 and mutual
 * TLS (SSL with client certificates required), beside a plaintext one for the test's own set-up.
 * Certificates come from a throwaway CA made at start; the SCRAM user is created by Kafka's
 * storage tool at format time. Never the shared broker: its ports come from `freePort()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaService } from '../../dev/kafka-service.ts';
import type { DevService } from '../../dev/service.ts';
import { devSettings } from '../../dev/settings.ts';
import { makeTestCertificates, type TestCertificates } from './certificates.ts';
import { testServices } from './services.ts';
import { freePort } from './sluice-process.ts';

export interface SecureKafka {
  /** For the test's own admin work, without security. */
  plaintextBrokers: string;
  /** SASL_SSL, SCRAM-SHA-512. */
  saslBrokers: string;
  /** SSL with a client certificate required. */
  mtlsBrokers: string;
  /** The first SCRAM user; all users share the password in `passwordFile`. */
  username: string;
  /** A file holding the SCRAM users' password (with a trailing newline, as editors write it). */
  passwordFile: string;
  certificates: TestCertificates;
  service: DevService;
  destroy(): Promise<void>;
}

export interface SecureKafkaOptions {
  /** SCRAM-SHA-512 users to create. @default ['sluice'] */
  users?: readonly string[];
  /** Turn on Kafka's StandardAuthorizer: SASL users then need ACLs (the plaintext listener stays a super user). */
  authorizer?: boolean;
}

export async function startSecureKafka(options: SecureKafkaOptions = {}): Promise<SecureKafka> {
  const services = testServices();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secure-kafka-'));
  const certificates = await makeTestCertificates(join(dir, 'certs'));
  const users = options.users ?? ['sluice'];
  const password = `scram-${Math.random().toString(36).slice(2)}`;
  const passwordFile = join(dir, 'kafka-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });

  const [plain, controller, sasl, mtls] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const host = '127.0.0.1';
  const service = createKafkaService({
    version: services.kafkaVersionForPrivateBrokers,
    port: plain,
    controllerPort: controller,
    cacheDir: services.cacheDir ?? devSettings().cacheDir,
    dir,
    properties: {
      listeners: `PLAINTEXT://${host}:${plain},CONTROLLER://${host}:${controller},SASL_SSL://${host}:${sasl},MTLS://${host}:${mtls}`,
      'advertised.listeners': `PLAINTEXT://${host}:${plain},SASL_SSL://${host}:${sasl},MTLS://${host}:${mtls}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.mtls.ssl.client.auth': 'required',
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': certificates.brokerKeystore,
      'ssl.keystore.password': certificates.storePassword,
      'ssl.key.password': certificates.storePassword,
      'ssl.truststore.type': 'PKCS12',
      'ssl.truststore.location': certificates.truststore,
      'ssl.truststore.password': certificates.storePassword,
      ...(options.authorizer
        ? {
            'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
            // the plaintext and controller listeners authenticate nobody: ANONYMOUS is the test's own admin
            'super.users': 'User:ANONYMOUS',
          }
        : {}),
    },
    formatArguments: users.flatMap((name) => [
      '--add-scram',
      `SCRAM-SHA-512=[name=${name},password=${password}]`,
    ]),
  });
  await service.start(() => undefined);
  return {
    plaintextBrokers: `${host}:${plain}`,
    saslBrokers: `${host}:${sasl}`,
    mtlsBrokers: `${host}:${mtls}`,
    username: users[0]!,
    passwordFile,
    certificates,
    service,
    async destroy() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
