/**
 * A processor's HTTP port over HTTPS (processor.http.tls) with API keys: the server built as
 * processor/main.ts builds it, listening on loopback, reached with a client that trusts only the
 * test CA.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore, type KeyStore } from '../../../common/auth/key-store.ts';
import { createKey } from '../../../common/auth/keys-file.ts';
import { buildProcessorHttp } from '../../../processor/http-server.ts';
import { makeTestCertificates, type TestCertificates } from '../../env/certificates.ts';

function get(url: string, ca: string, key?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const outgoing = request(
        url,
        { ca, headers: key ? { authorization: `Bearer ${key}` } : {} },
        (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    },
  );
}

describe('processor HTTP over TLS', () => {
  let certificates: TestCertificates;
  let keys: KeyStore;
  let operatorKey: string;
  let app: FastifyInstance;
  let base: string;
  let ca: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-processor-https-'));
    certificates = await makeTestCertificates(join(dir, 'certs'));
    ca = readFileSync(certificates.caCert, 'utf8');
    const keysFile = join(dir, 'api-keys.yaml');
    operatorKey = createKey(keysFile, { role: 'operator' }).key;
    keys = createKeyStore(keysFile);
    app = buildProcessorHttp({
      metrics: new Registry(),
      notReadyReason: () => undefined,
      auth: { keys, openProbes: true },
      https: {
        cert: readFileSync(certificates.brokerCert, 'utf8'),
        key: readFileSync(certificates.brokerKey, 'utf8'),
      },
      routes: (routes) => routes.get('/v1/status', async () => ({ ok: true })),
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    base = address.replace('http://', 'https://');
  }, 60_000);
  afterAll(async () => {
    keys?.close();
    await app?.close();
  });

  it('serves probes openly and the status API to operator keys, over TLS', async () => {
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${base}/healthz`, ca)).status).toBe(200);
    const anonymous = await get(`${base}/v1/status`, ca);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="sluice"');
    expect(JSON.parse((await get(`${base}/v1/status`, ca, operatorKey)).body)).toEqual({ ok: true });
  });

  it('is refused by a client that does not trust the CA', async () => {
    const other = readFileSync(certificates.otherCaCert, 'utf8');
    await expect(get(`${base}/healthz`, other)).rejects.toThrow(/unable to verify the first certificate/);
  });
});
