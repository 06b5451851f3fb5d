import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../common/kafka/index.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { slotCluster } from '../../e2e/slot-cluster.ts';
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

describe('state queries', () => {
  let fixture: AnalyticsFixture;
  let openWindows: Stats[];
  const actives = new Map<number, ProcessorProcess>();
  const standbys = new Map<number, ProcessorProcess>();

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions, slots });
    const cluster = slotCluster(fixture, slots, partitions);
    const deployed = await cluster.deploy();
    for (const slot of [0, 1]) {
      actives.set(slot, deployed.actives[slot]!);
      standbys.set(slot, deployed.standbys[slot]![0]!);
    }
    await fixture.produce(
      takeRequests(
        { seed: 3, tenants: 12, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 30, jitterMs: 5000 },
        8000,
      ),
    );
    await fixture.waitCaughtUp();
    openWindows = expectedStats(await fixture.inputRecords()).open;
    expect(openWindows.length).toBeGreaterThan(10);
  }, 180_000);
  afterAll(async () => fixture?.cleanup());

  const url = (base: string, tenant: string, api: string, query = '') =>
    `${base}/v1/apps/${fixture.appId}/stores/aggregates/keys/${encodeURIComponent(JSON.stringify([tenant, api]))}${query}`;
  const expectedFor = (tenant: string, api: string) =>
    openWindows
      .filter((w) => w.userTenantDomain === tenant && w.apiName === api)
      .map((w) => ({
        start: w.windowStart,
        end: w.windowEnd,
        value: {
          requests: w.requests,
          throttledRequests: w.throttledRequests,
          minResponseTime: w.minResponseTime,
          avgResponseTime: w.avgResponseTime,
          maxResponseTime: w.maxResponseTime,
          avgBackendTime: w.avgBackendTime,
        },
      }));
  const sample = () => openWindows[0]!;
  const slotOf = (tenant: string) => partitionForKey(tenant, partitions) % slots;

  it('answers from the owner, and forwards from any other instance, with the expected aggregates', async () => {
    const { userTenantDomain: tenant, apiName: api } = sample();
    const owner = actives.get(slotOf(tenant))!;
    const other = actives.get(1 - slotOf(tenant))!;

    const direct = await body(await fetch(url(owner.address, tenant, api)));
    expect(direct).toMatchObject({
      key: { userTenantDomain: tenant, apiName: api },
      servedBy: { role: 'active' },
    });
    expect(direct.windows).toEqual(expectedFor(tenant, api));

    const response = await fetch(url(other.address, tenant, api));
    expect(response.headers.get('x-sluice-forwarded-to')).toBe(owner.address);
    const forwarded = await body(response);
    expect(forwarded.windows).toEqual(expectedFor(tenant, api));
    expect(forwarded.servedBy.address).toBe(owner.address);

    const ranged = await body(
      await fetch(
        url(
          owner.address,
          tenant,
          api,
          `/windows?from=${sample().windowStart}&to=${sample().windowStart + 1}`,
        ),
      ),
    );
    expect(ranged.windows).toEqual(expectedFor(tenant, api).filter((w) => w.start === sample().windowStart));
  });

  it('lets a standby answer with ?allowStale=true, saying how far behind it is', async () => {
    const { userTenantDomain: tenant, apiName: api } = sample();
    const standby = standbys.get(slotOf(tenant))!;
    const stale = await waitFor('the standby to have caught up', async () => {
      const answer = await body(await fetch(url(standby.address, tenant, api, '?allowStale=true')));
      return answer.servedBy?.lagRecords === 0 ? answer : undefined;
    });
    expect(stale.servedBy).toMatchObject({ role: 'standby', address: standby.address });
    expect(stale.windows).toEqual(expectedFor(tenant, api));
    // without allowStale the standby forwards to the active
    const forwarded = await fetch(url(standby.address, tenant, api));
    expect(forwarded.headers.get('x-sluice-forwarded-to')).toBe(actives.get(slotOf(tenant))!.address);
  });

  it('says clearly what is unknown', async () => {
    const base = actives.get(0)!.address;
    const unknownApp = await fetch(`${base}/v1/apps/nope/stores/aggregates/keys/x`);
    expect(unknownApp.status).toBe(404);
    expect((await body(unknownApp)).detail).toMatch(/this instance runs app .*, not nope/);
    const unknownStore = await fetch(`${base}/v1/apps/${fixture.appId}/stores/nope/keys/x`);
    expect(unknownStore.status).toBe(404);
    expect((await body(unknownStore)).title).toBe('Unknown store');
    const owner = actives.get(slotOf('nobody.example.com'))!;
    const noState = await fetch(url(owner.address, 'nobody.example.com', 'api-0'));
    expect(noState.status).toBe(404);
    expect((await body(noState)).detail).toMatch(/holds nothing for key/);
    const badKey = await fetch(
      `${base}/v1/apps/${fixture.appId}/stores/aggregates/keys/${encodeURIComponent('["only-one"]')}`,
    );
    expect(badKey.status).toBe(400);
  });

  it('serves a status page and its data', async () => {
    const base = actives.get(0)!.address;
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/fetch\('\/v1\/status'\)/);
    const status = await body(await fetch(`${base}/v1/status`));
    expect(status.report.slots).toHaveLength(2);
    expect(status.instance).toMatchObject({ role: 'active', slot: 0, address: base });
    expect(status.instance.tasks.map((t: { state: string }) => t.state)).toEqual(['running', 'running']);
    expect(status.instance.recordsIn).toBeGreaterThan(0);
  });
});
