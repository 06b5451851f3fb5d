/**
 * sluice against a broker secured the way real clusters are: SASL_SSL with SCRAM-SHA-512, and
 * mutual TLS. A router and a processor (exactly-once, active + standby) run end to end over each
 * listener; bad credentials and bad certificate files stop the start at once with exit code 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type SecureKafka, startSecureKafka } from '../../env/secure-kafka.ts';
import { freePort, runSluice, startSluice, stopAllSluice } from '../../env/sluice-process.ts';
import { createAnalyticsFixture } from '../processor/fixture.ts';
import { expectedStats, sortStats } from '../processor/reference.ts';

let kafka: SecureKafka;

/** A POST over HTTPS trusting only `ca` (fetch cannot be given a CA). */
function postHttps(url: string, body: string, ca: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

beforeAll(async () => {
  kafka = await startSecureKafka();
}, 180_000);
afterAll(async () => {
  await stopAllSluice();
  await kafka?.destroy();
});

const saslEnv = () => ({
  KAFKA_BROKERS: kafka.saslBrokers,
  SLUICE_KAFKA_TLS_CA: kafka.certificates.caCert,
  SLUICE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
  SLUICE_KAFKA_SASL_USERNAME: kafka.username,
  SLUICE_KAFKA_SASL_PASSWORD_FILE: kafka.passwordFile,
});

const mtlsEnv = () => ({
  KAFKA_BROKERS: kafka.mtlsBrokers,
  SLUICE_KAFKA_TLS_CA: kafka.certificates.caCert,
  SLUICE_KAFKA_TLS_CERT: kafka.certificates.clientCert,
  SLUICE_KAFKA_TLS_KEY: kafka.certificates.clientKey,
});

describe.each([
  ['SASL_SSL (SCRAM-SHA-512)', saslEnv],
  ['mutual TLS', mtlsEnv],
])('a router and a processor over %s', (_listener, securityEnv) => {
  it('ingest, aggregate exactly once with a standby, and output what the reference computes', async () => {
    const fixture = await createAnalyticsFixture({ kafkaBrokers: kafka.plaintextBrokers, slots: 1 });
    try {
      const env = securityEnv();
      const active = await fixture.startProcessor({ name: 'active', slot: 0, env });
      const standby = await fixture.startProcessor({ name: 'standby', slot: 0, env });
      // the router serves HTTPS with a certificate from the same test CA
      const configFile = join(fixture.dir, 'router.json');
      const config = JSON.parse(readFileSync(fixture.configFile, 'utf8'));
      const { brokerCert, brokerKey, caCert } = kafka.certificates;
      writeFileSync(
        configFile,
        JSON.stringify({ ...config, router: { tls: { cert: brokerCert, key: brokerKey } } }),
      );
      const port = await freePort();
      const router = await startSluice(
        ['router', '--config', configFile, '--no-auth', '--port', String(port)],
        {
          name: 'router',
          env,
          readyOutput: /router listening/,
        },
      );
      const events = takeRequests(
        { seed: 17, tenants: 12, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 50, jitterMs: 2000 },
        3000,
      );
      for (let i = 0; i < events.length; i += 500) {
        const { status, text } = await postHttps(
          `https://127.0.0.1:${port}/v1/streams/Request/events`,
          JSON.stringify(events.slice(i, i + 500)),
          readFileSync(caCert, 'utf8'),
        );
        expect(status, text).toBe(202);
      }
      await fixture.waitCaughtUp();

      const input = await fixture.inputRecords();
      expect(input).toHaveLength(events.length);
      const expected = expectedStats(input);
      expect(expected.stats.length).toBeGreaterThan(50);
      expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
      // the standby followed the changelog over the secured listener too
      const standbyStatus = await (await fetch(`${standby.address}/readyz`)).json();
      expect(standbyStatus).toEqual({ status: 'ready' });
      expect(await router.stop()).toBe(0);
      expect(await standby.stop()).toBe(0);
      expect(await active.stop()).toBe(0);
    } finally {
      await fixture.cleanup();
    }
  }, 240_000);
});

describe('a start with bad credentials or certificates fails at once, saying what to fix', () => {
  const startRouter = async (env: Record<string, string>) => {
    const fixture = await createAnalyticsFixture({ kafkaBrokers: kafka.plaintextBrokers });
    try {
      return await runSluice(
        ['router', '--config', fixture.configFile, '--no-auth', '--port', String(await freePort())],
        { env, timeoutMs: 60_000 },
      );
    } finally {
      await fixture.cleanup();
    }
  };

  it('a wrong SCRAM password', async () => {
    const { code, stderr } = await startRouter({
      ...saslEnv(),
      SLUICE_KAFKA_SASL_PASSWORD_FILE: kafka.certificates.caCert,
    });
    expect(stderr).toMatch(/refused our SASL credentials.*check kafka\.sasl\.username and the password/);
    expect(code).toBe(1);
  }, 90_000);

  it('a wrong SCRAM password, on a router of two workers: the instance exits too', async () => {
    const { code, stderr } = await startRouter({
      ...saslEnv(),
      SLUICE_KAFKA_SASL_PASSWORD_FILE: kafka.certificates.caCert,
      SLUICE_ROUTER_WORKERS: '2',
    });
    expect(stderr).toMatch(/refused our SASL credentials.*check kafka\.sasl\.username and the password/);
    expect(code).toBe(1);
  }, 90_000);

  it('a broker certificate signed by a CA we do not trust', async () => {
    const { code, stderr } = await startRouter({
      ...saslEnv(),
      SLUICE_KAFKA_TLS_CA: kafka.certificates.otherCaCert,
    });
    expect(stderr).toMatch(/TLS handshake with Kafka broker 127\.0\.0\.1:\d+ failed .*set kafka\.tls\.ca/);
    expect(code).toBe(1);
  }, 90_000);

  it('an expired client certificate', async () => {
    const { code, stderr } = await startRouter({
      ...mtlsEnv(),
      SLUICE_KAFKA_TLS_CERT: kafka.certificates.expiredClientCert,
      SLUICE_KAFKA_TLS_KEY: kafka.certificates.expiredClientKey,
    });
    expect(stderr).toMatch(
      /kafka\.tls\.cert: .*expired-client\.crt \(CN=sluice-expired\) expired on .*renew it/,
    );
    expect(code).toBe(1);
  }, 90_000);

  it('a missing password file and a missing key file, both named', async () => {
    const { code, stderr } = await startRouter({
      ...saslEnv(),
      SLUICE_KAFKA_SASL_PASSWORD_FILE: '/nonexistent/kafka-password',
      SLUICE_KAFKA_TLS_CERT: kafka.certificates.clientCert,
      SLUICE_KAFKA_TLS_KEY: '/nonexistent/client.key',
    });
    expect(stderr).toMatch(/kafka\.tls\.key: \/nonexistent\/client\.key does not exist/);
    expect(stderr).toMatch(/kafka\.sasl\.passwordFile: \/nonexistent\/kafka-password does not exist/);
    expect(code).toBe(1);
  }, 90_000);
});
