import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../common/config/schema.ts';
import { resolveSecrets } from '../../../common/config/secrets.ts';
import { makeTestCertificates, type TestCertificates } from '../../env/certificates.ts';

const parse = (raw: unknown) => configSchema.parse(raw);

describe('secrets named in the configuration', () => {
  let dir: string;
  let certificates: TestCertificates;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
    certificates = await makeTestCertificates(join(dir, 'certs'));
  }, 60_000);

  it('names every missing secret file at once, each under its setting', () => {
    const config = parse({
      kafka: {
        tls: { ca: 'missing/ca.pem', cert: 'missing/client.pem', key: 'missing/client.key' },
        sasl: { mechanism: 'scram-sha-512', username: 'sluice', passwordFile: 'missing/kafka-password' },
      },
      registry: { auth: { type: 'bearer', tokenFile: 'missing/registry-token' } },
      database: { passwordFile: 'missing/pg-password', tls: { ca: 'missing/pg-ca.pem' } },
      router: { tls: { cert: 'missing/router.pem', key: 'missing/router.key' } },
      processor: { http: { tls: { cert: 'missing/processor.pem', key: 'missing/processor.key' } } },
    });
    let message = '';
    try {
      resolveSecrets(config, dir);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const [setting, file] of [
      ['kafka.tls.ca', 'ca.pem'],
      ['kafka.tls.cert', 'client.pem'],
      ['kafka.tls.key', 'client.key'],
      ['kafka.sasl.passwordFile', 'kafka-password'],
      ['registry.auth.tokenFile', 'registry-token'],
      ['database.passwordFile', 'pg-password'],
      ['database.tls.ca', 'pg-ca.pem'],
      ['router.tls.cert', 'router.pem'],
      ['router.tls.key', 'router.key'],
      ['processor.http.tls.cert', 'processor.pem'],
      ['processor.http.tls.key', 'processor.key'],
    ]) {
      expect(message).toContain(`  ${setting}: ${join(dir, 'missing', file!)} does not exist`);
    }
  });

  it('reads passwords and tokens without their trailing newline, and builds the registry header', () => {
    writeFileSync(join(dir, 'kafka-password'), 's3cret\n');
    writeFileSync(join(dir, 'registry-password'), 'r3g\n');
    const secrets = resolveSecrets(
      parse({
        kafka: {
          tls: { ca: certificates.caCert },
          sasl: { mechanism: 'scram-sha-512', username: 'sluice', passwordFile: 'kafka-password' },
        },
        registry: { auth: { type: 'basic', username: 'reader', passwordFile: 'registry-password' } },
      }),
      dir,
    );
    expect(secrets.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'sluice',
      password: 's3cret',
    });
    expect(secrets.kafka.tls?.ca).toContain('-----BEGIN CERTIFICATE-----');
    expect(secrets.kafka.tls?.rejectUnauthorized).toBe(true);
    expect(secrets.registryAuthorization).toBe(`Basic ${Buffer.from('reader:r3g').toString('base64')}`);
    expect(secrets.database).toEqual({ password: undefined, tls: undefined });
  });

  it('refuses an empty password file, a CA file without a certificate, an expired and a mismatched certificate', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    const config = parse({
      kafka: {
        tls: {
          ca: certificates.clientKey,
          cert: certificates.expiredClientCert,
          key: certificates.clientKey,
        },
        sasl: { mechanism: 'plain', username: 'sluice', passwordFile: 'empty' },
      },
    });
    expect(() => resolveSecrets(config, dir)).toThrow(
      new RegExp(
        [
          `kafka\\.tls\\.ca: ${certificates.clientKey} holds no PEM certificate`,
          `kafka\\.tls\\.cert: ${certificates.expiredClientCert} \\(CN=sluice-expired\\) expired on .*: renew it`,
          `kafka\\.tls\\.key: ${certificates.clientKey} is not the key of ${certificates.expiredClientCert}`,
        ].join('\\n  '),
      ),
    );
    expect(() => resolveSecrets(config, dir)).toThrow(/kafka\.sasl\.passwordFile: .*empty is empty/);
  });

  it('keeps the earlier kafka.ssl switch working: TLS with the system CAs', () => {
    expect(resolveSecrets(parse({ kafka: { ssl: true } }), dir).kafka.tls).toEqual({
      ca: undefined,
      cert: undefined,
      key: undefined,
      rejectUnauthorized: true,
    });
    expect(resolveSecrets(parse({ kafka: { ssl: false } }), dir).kafka.tls).toBeUndefined();
  });

  it('the schema asks for exactly one password source and for cert and key together', () => {
    const both = configSchema.safeParse({
      kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'p', passwordFile: 'f' } },
    });
    expect(both.error?.issues[0]?.message).toMatch(/exactly one of password .* and passwordFile/);
    const halfMtls = configSchema.safeParse({ kafka: { tls: { cert: 'client.pem' } } });
    expect(halfMtls.error?.issues[0]?.message).toMatch(/cert and key go together/);
  });
});
