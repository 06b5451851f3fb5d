/**
 * PostgreSQL connections as configured: a private server that accepts sluice's user only over TLS
 * with a password (scram-sha-256); the password from `database.passwordFile`, the server's CA from
 * `database.tls.ca`. Through the same pool options the processors and the CLI use.
 */
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresPoolConfig } from '../../../common/config/connections.ts';
import type { LoadedConfig } from '../../../common/config/load.ts';
import { configSchema } from '../../../common/config/schema.ts';
import { resolveSecrets } from '../../../common/config/secrets.ts';
import { createPostgresService } from '../../../dev/postgres-service.ts';
import type { DevService } from '../../../dev/service.ts';
import { makeTestCertificates, type TestCertificates } from '../../env/certificates.ts';
import { freePort } from '../../env/sluice-process.ts';

describe('PostgreSQL over TLS with a password from a file', () => {
  let dir: string;
  let serverDir: string;
  let postgres: DevService;
  let port: number;
  let certificates: TestCertificates;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-pg-tls-'));
    certificates = await makeTestCertificates(join(dir, 'certs'));
    port = await freePort();
    // its own directory right under /tmp: the server's user must reach it
    serverDir = mkdtempSync(join(tmpdir(), 'sluice-pg-tls-server-'));
    postgres = createPostgresService({ port, dir: serverDir });
    await postgres.start(() => undefined);
    // the server reads its certificate as its own user, from its data directory
    const dataDir = join(serverDir, 'data');
    const { uid, gid } = statSync(dataDir);
    for (const [from, to] of [
      [certificates.brokerCert, 'server.crt'],
      [certificates.brokerKey, 'server.key'],
    ] as const) {
      copyFileSync(from, join(dataDir, to));
      chownSync(join(dataDir, to), uid, gid);
      chmodSync(join(dataDir, to), 0o600);
    }
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      [
        'local all all trust',
        'host all postgres 127.0.0.1/32 trust',
        'hostssl all sluice 127.0.0.1/32 scram-sha-256',
        'hostnossl all sluice 127.0.0.1/32 reject',
        '',
      ].join('\n'),
    );
    const admin = new pg.Client({ connectionString: postgres.endpoint });
    await admin.connect();
    try {
      await admin.query(`ALTER SYSTEM SET ssl = on`);
      await admin.query(`CREATE ROLE sluice LOGIN PASSWORD 'pg-secret'`);
      await admin.query('SELECT pg_reload_conf()');
    } finally {
      await admin.end();
    }
    writeFileSync(join(dir, 'pg-password'), 'pg-secret\n');
  }, 120_000);
  afterAll(async () => {
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (serverDir) rmSync(serverDir, { recursive: true, force: true });
  });

  const loaded = (database: Record<string, unknown>): LoadedConfig => {
    const config = configSchema.parse({
      database: { url: `postgres://sluice@127.0.0.1:${port}/sluice`, ...database },
    });
    return { config, baseDir: dir, secrets: resolveSecrets(config, dir) };
  };

  const sslOfSession = async (options: LoadedConfig) => {
    const pool = new pg.Pool(postgresPoolConfig(options, { max: 1, connectionTimeoutMillis: 5000 }));
    pool.on('error', () => undefined); // a client still closing when the server stops after the tests
    try {
      const { rows } = await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return rows[0].ssl as boolean;
    } finally {
      await pool.end();
    }
  };

  it('connects over TLS, verifying the server against database.tls.ca, with the password file', async () => {
    expect(
      await sslOfSession(loaded({ passwordFile: 'pg-password', tls: { ca: certificates.caCert } })),
    ).toBe(true);
  });

  it('refuses a server whose certificate another CA signed, and a connection without TLS', async () => {
    await expect(
      sslOfSession(loaded({ passwordFile: 'pg-password', tls: { ca: certificates.otherCaCert } })),
    ).rejects.toThrow(/self[- ]signed certificate in certificate chain|unable to verify/);
    await expect(sslOfSession(loaded({ passwordFile: 'pg-password' }))).rejects.toThrow(
      /pg_hba\.conf rejects connection .* no encryption/,
    );
  });
});
