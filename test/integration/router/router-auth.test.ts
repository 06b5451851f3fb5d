import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, revokeKey } from '../../../common/auth/keys-file.ts';
import { takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const eventsOf = (tenant: number, count: number) =>
  takeRequests({ seed: 6, tenants: 1, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, count).map(
    (event) => ({
      ...event,
      userTenantDomain: tenantName(tenant),
    }),
  );

describe('router API keys and per-tenant rate limits', () => {
  let fixture: RouterFixture;
  let url: string;
  let keyOf0: string;
  beforeAll(async () => {
    fixture = await createRouterFixture({
      router: { rateLimit: { eventsPerSecond: 2, burst: 20 } },
    });
    keyOf0 = fixture.createKey(tenantName(0));
    fixture.createKey(tenantName(1));
    fixture.createKey(tenantName(2));
    url = (await fixture.startRouter({ env: { SLUICE_ROUTER_AUTH: 'true' } })).url;
  });
  afterAll(async () => fixture?.cleanup());

  it('answers 401 without a key or with a wrong one', async () => {
    expect((await postEvents(url, eventsOf(0, 1))).status).toBe(401);
    const wrong = await postEvents(url, eventsOf(0, 1), {
      headers: { authorization: 'Bearer sk_not-a-key' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toMatch(/unknown API key/);
  });

  it('answers 403 to events of another tenant, and publishes none of the request', async () => {
    const mixed = [...eventsOf(0, 2), ...eventsOf(1, 1)];
    const response = await postEvents(url, mixed, { headers: { authorization: `Bearer ${keyOf0}` } });
    expect(response.status).toBe(403);
    expect(response.body.detail).toMatch(
      /may only publish events of tenant tenant-0\.example\.com; event\(s\) 2/,
    );
    expect(await fixture.records()).toEqual([]);
  });

  it('accepts its own events and answers 429 with Retry-After over the tenant limit', async () => {
    const ok = await postEvents(url, eventsOf(0, 15), { headers: { 'x-api-key': keyOf0 } });
    expect(ok.status).toBe(202);
    const over = await postEvents(url, eventsOf(0, 15), { headers: { authorization: `Bearer ${keyOf0}` } });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(over.body.detail).toMatch(/over its limit of 2 events\/s/);
    expect(await fixture.records()).toHaveLength(15);
  });

  it('rotates keys without a restart: a new key works and a revoked one is refused within two seconds', async () => {
    const { id, key } = createKey(fixture.keysFile, { role: 'tenant', tenant: tenantName(2) });
    const send = (apiKey: string) => postEvents(url, eventsOf(2, 1), { headers: { 'x-api-key': apiKey } });
    // documented: the file is polled every second; the margins are for a loaded machine
    await waitFor('the new key to be accepted', async () => (await send(key)).status === 202, {
      timeoutMs: 5000,
      intervalMs: 100,
    });
    expect(revokeKey(fixture.keysFile, id)).toBe(true);
    await waitFor('the revoked key to be refused', async () => (await send(key)).status === 401, {
      timeoutMs: 5000,
      intervalMs: 100,
    });
  });
});
