/**
 * The registry client with authentication, against the real registry behind a gate that demands
 * an Authorization header (Apicurio's own auth needs an OIDC server, which the test services lack).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../common/config/schema.ts';
import { resolveSecrets } from '../../../common/config/secrets.ts';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { createSerde } from '../../../schemas/serde.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';
import { freePort } from '../../env/sluice-process.ts';

const schema = {
  type: 'record',
  name: 'Gated',
  namespace: 'sluice.test',
  fields: [{ name: 'tenant', type: 'string' }],
};

describe('schema registry behind authentication', () => {
  let gate: Server;
  let gatedUrl: string;
  let authorization: string;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-registry-auth-'));
    writeFileSync(join(dir, 'registry-password'), 'gate-secret\n');
    const config = configSchema.parse({
      registry: { auth: { type: 'basic', username: 'sluice', passwordFile: 'registry-password' } },
    });
    authorization = resolveSecrets(config, dir).registryAuthorization!;
    const upstream = new URL(testServices().schemaRegistryUrl);
    gate = createServer(async (request, response) => {
      seen.push(request.headers.authorization);
      if (request.headers.authorization !== authorization) {
        response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic' });
        response.end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const target = new URL(request.url!.replace(/^\/gated/, upstream.pathname), upstream);
      const answer = await fetch(target, {
        method: request.method,
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      response.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      response.end(Buffer.from(await answer.arrayBuffer()));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => gate.listen(port, '127.0.0.1', resolve));
    gatedUrl = `http://127.0.0.1:${port}/gated`;
  });
  afterAll(() => new Promise<void>((resolve) => gate?.close(() => resolve())));

  it('registers, finds and decodes with the basic credentials from the password file', async () => {
    expect(authorization).toBe(`Basic ${Buffer.from('sluice:gate-secret').toString('base64')}`);
    const registry = createSchemaRegistryClient(gatedUrl, authorization);
    const subject = uniqueName('gated-value');
    const id = await registry.register(subject, schema);
    expect(await registry.latestId(subject)).toBe(id);
    expect(await registry.isReachable()).toBe(true);
    const encoded = await registry.encode(id, { tenant: 'foo.com' });
    const serde = createSerde(gatedUrl, { authorization });
    await serde.prepare([encoded]);
    expect(serde.decode(encoded)).toEqual({ tenant: 'foo.com' });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((header) => header === authorization)).toBe(true);
  });

  it('says that the registry refused the credentials, and does not count it as unavailable', async () => {
    const wrong = createSchemaRegistryClient(gatedUrl, `Bearer not-the-token`);
    await expect(wrong.register(uniqueName('gated-value'), schema)).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
      retriable: false,
      message: expect.stringMatching(/answered 401: it refused our credentials; check registry\.auth/),
    });
    await expect(createSchemaRegistryClient(gatedUrl).latestId('anything')).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
    });
    expect(await wrong.isReachable()).toBe(false);
  });
});
