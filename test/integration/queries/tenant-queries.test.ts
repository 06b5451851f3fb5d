/**
 * Processors' HTTP behind API keys: a tenant key reads only its tenant's state (also when the
 * query is forwarded to the owner), an operator key reads everything and the status API, probes
 * stay open, and a key revoked from the keys file stops working without a restart.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, revokeKey } from '../../../common/auth/keys-file.ts';
import { partitionForKey } from '../../../common/kafka/index.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import {
  type AnalyticsFixture,
  createAnalyticsFixture,
  type ProcessorProcess,
} from '../processor/fixture.ts';
import { expectedStats, type Stats } from '../processor/reference.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
const body = async (response: Response): Promise<any> => response.json();

const partitions = 4;
const slots = 2;

describe('tenant-scoped state queries', () => {
  let fixture: AnalyticsFixture;
  let keysFile: string;
  let sample: Stats;
  let otherSample: Stats;
  let otherTenant: string;
  const keys = { own: { id: '', key: '' }, other: { id: '', key: '' }, operator: { id: '', key: '' } };
  const actives = new Map<number, ProcessorProcess>();

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions, slots });
    keysFile = join(fixture.dir, 'api-keys.yaml');
    await fixture.produce(
      takeRequests(
        { seed: 5, tenants: 8, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 30, jitterMs: 3000 },
        3000,
      ),
    );
    const open = expectedStats(await fixture.inputRecords()).open;
    sample = open[0]!;
    otherSample = open.find((w) => w.userTenantDomain !== sample.userTenantDomain)!;
    otherTenant = otherSample.userTenantDomain;
    keys.own = createKey(keysFile, { role: 'tenant', tenant: sample.userTenantDomain });
    keys.other = createKey(keysFile, { role: 'tenant', tenant: otherTenant });
    keys.operator = createKey(keysFile, { role: 'operator' });

    const env = { SLUICE_PROCESSOR_AUTH: 'true', SLUICE_PROCESSOR_KEYS_FILE: keysFile };
    for (const slot of [0, 1])
      actives.set(slot, await fixture.startProcessor({ name: `slot${slot}`, slot, env }));
    // the first instance may borrow the other slot until its own instance takes it back
    await waitFor('each slot to be held by its own instance', async () => {
      const leases = await fixture.leases.leases(fixture.appId);
      return [0, 1].every((slot) => {
        const holder = leases.find((lease) => lease.slot === slot)?.holderAddress;
        return holder === actives.get(slot)!.address;
      });
    });
    await fixture.waitCaughtUp();
  }, 180_000);
  afterAll(async () => fixture?.cleanup());

  const url = (base: string, tenant: string, api: string) =>
    `${base}/v1/apps/${fixture.appId}/stores/aggregates/keys/${encodeURIComponent(JSON.stringify([tenant, api]))}`;
  const get = (target: string, key?: string) =>
    fetch(target, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const ownerOf = (tenant: string) => actives.get(partitionForKey(tenant, partitions) % slots)!;
  const notOwnerOf = (tenant: string) => actives.get(1 - (partitionForKey(tenant, partitions) % slots))!;

  it('answers 401 with WWW-Authenticate and problem details without a key or with an unknown one', async () => {
    const target = url(ownerOf(sample.userTenantDomain).address, sample.userTenantDomain, sample.apiName);
    for (const key of [undefined, 'sk_not-a-key']) {
      const response = await get(target, key);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect((await body(response)).detail).toMatch(key ? /unknown API key/ : /missing API key/);
    }
  });

  it("a tenant key reads its own tenant's state, directly and forwarded by another instance", async () => {
    const { userTenantDomain: tenant, apiName: api } = sample;
    const direct = await get(url(ownerOf(tenant).address, tenant, api), keys.own.key);
    expect(direct.status).toBe(200);
    expect((await body(direct)).windows.length).toBeGreaterThan(0);
    // the owner checks the key again: the forward carried the caller's identity
    const forwarded = await get(url(notOwnerOf(tenant).address, tenant, api), keys.own.key);
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers.get('x-sluice-forwarded-to')).toBe(ownerOf(tenant).address);
  });

  it("answers 403 to another tenant's key, the same whether the key holds state or not", async () => {
    const { userTenantDomain: tenant, apiName: api } = sample;
    const existing = await get(url(ownerOf(tenant).address, tenant, api), keys.other.key);
    const missing = await get(url(ownerOf(tenant).address, tenant, 'no-such-api'), keys.other.key);
    expect(existing.status).toBe(403);
    expect(missing.status).toBe(403);
    const [a, b] = [await body(existing), await body(missing)];
    expect(a.detail).toMatch(/belongs to tenant .* and may read only its state/);
    expect(b.detail).toBe(a.detail);
    expect((await get(url(notOwnerOf(tenant).address, tenant, api), keys.other.key)).status).toBe(403);
  });

  it('an operator key reads every tenant and the status API; tenant keys do not; probes are open', async () => {
    for (const { userTenantDomain: tenant, apiName: api } of [sample, otherSample]) {
      // from the instance that does not own the tenant: forwarded, answered under the operator key
      const response = await get(url(notOwnerOf(tenant).address, tenant, api), keys.operator.key);
      expect(response.status).toBe(200);
      expect((await body(response)).key).toEqual({ userTenantDomain: tenant, apiName: api });
    }
    const base = actives.get(0)!.address;
    expect((await get(`${base}/v1/status`, keys.operator.key)).status).toBe(200);
    expect((await get(`${base}/`, keys.operator.key)).status).toBe(200);
    const tenantOnStatus = await get(`${base}/v1/status`, keys.own.key);
    expect(tenantOnStatus.status).toBe(403);
    expect((await body(tenantOnStatus)).detail).toMatch(/needs an operator key/);
    expect((await get(`${base}/v1/status`)).status).toBe(401);
    for (const probe of ['/healthz', '/readyz', '/metrics'])
      expect((await get(`${base}${probe}`)).status).toBe(200);
  });

  it('a key revoked in the keys file stops working without a restart', async () => {
    const { userTenantDomain: tenant, apiName: api } = sample;
    const target = url(ownerOf(tenant).address, tenant, api);
    expect((await get(target, keys.own.key)).status).toBe(200);
    expect(revokeKey(keysFile, keys.own.id)).toBe(true);
    // documented: within two polls of one second; the margin is for a loaded machine
    await waitFor(
      'the revoked key to be refused',
      async () => (await get(target, keys.own.key)).status === 401,
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    expect((await get(target, keys.operator.key)).status).toBe(200);
  });
});
