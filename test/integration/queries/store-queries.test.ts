/**
 * State queries name any store of the app: tumbling, hopping and session windows, a running
 * aggregate, a custom aggregator, the second of two aggregations and a store behind a repartition
 * (its task found by the key's partition of the repartition topic). Two processors share the
 * partitions (two slots, cluster mode), so a query reaches the owner directly or forwarded; every answer is compared with a
 * computation over the input records.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { slotCluster } from '../../e2e/slot-cluster.ts';
import { waitFor } from '../../env/wait.ts';
import { hopping2, sessionGapMs, tumblingMs } from '../processor/apps/store-kinds-app.ts';
import {
  type AnalyticsFixture,
  createAnalyticsFixture,
  type ProcessorProcess,
} from '../processor/fixture.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
const body = async (response: Response): Promise<any> => response.json();

type Window = { start: number; end: number; value: Record<string, unknown> };

/** The reference: every store's content, computed directly from the events. */
function expectedState(events: readonly RequestEvent[]) {
  const tumbling = new Map<string, Map<number, { requests: number; responseTotal: number }>>();
  const hopping = new Map<string, Map<number, number>>();
  const times = new Map<string, number[]>();
  const running = new Map<string, { requests: number; maxBackend: number }>();
  const custom = new Map<string, { throttled: number; slowest: number }>();
  const perApi = new Map<string, number>();
  const at = <K, V>(map: Map<K, V>, key: K, init: () => V) => {
    if (!map.has(key)) map.set(key, init());
    return map.get(key)!;
  };
  for (const e of events) {
    const pair = JSON.stringify([e.userTenantDomain, e.apiName]);
    const t = e.requestTimestamp;
    const start = t - (t % tumblingMs);
    const window = at(
      at(tumbling, pair, () => new Map()),
      start,
      () => ({ requests: 0, responseTotal: 0 }),
    );
    window.requests += 1;
    window.responseTotal += e.responseTime;
    for (let s = t - (t % hopping2.advance); s > t - hopping2.size; s -= hopping2.advance) {
      const windows = at(hopping, e.userTenantDomain, () => new Map());
      windows.set(s, (windows.get(s) ?? 0) + 1);
    }
    at(times, pair, () => []).push(t);
    const run = at(running, e.userTenantDomain, () => ({ requests: 0, maxBackend: -Infinity }));
    run.requests += 1;
    run.maxBackend = Math.max(run.maxBackend, e.backendTime);
    const c = at(custom, e.userTenantDomain, () => ({ throttled: 0, slowest: 0 }));
    c.throttled += e.throttledOut ? 1 : 0;
    c.slowest = Math.max(c.slowest, e.responseTime);
    perApi.set(e.apiName, (perApi.get(e.apiName) ?? 0) + 1);
  }
  // sessions: a record within the gap of a session (both ends inclusive) joins it
  const sessions = new Map<string, Window[]>();
  for (const [pair, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    const out: Window[] = [];
    for (const t of sorted) {
      const last = out.at(-1);
      if (last && t - last.end <= sessionGapMs) {
        last.end = t;
        (last.value as { requests: number }).requests += 1;
      } else out.push({ start: t, end: t, value: { requests: 1 } });
    }
    sessions.set(pair, out);
  }
  const peaks = new Map<string, number>();
  for (const [pair, windows] of tumbling) {
    const tenant = JSON.parse(pair)[0] as string;
    for (const { requests } of windows.values())
      peaks.set(tenant, Math.max(peaks.get(tenant) ?? 0, requests));
  }
  const sortedWindows = <V>(
    windows: Map<number, V>,
    size: number,
    value: (v: V) => Record<string, unknown>,
  ) =>
    [...windows]
      .sort(([a], [b]) => a - b)
      .map(([start, v]) => ({ start, end: start + size, value: value(v) }));
  return { tumbling, hopping, sessions, running, custom, perApi, peaks, sortedWindows };
}

describe('state queries of every store', () => {
  let fixture: AnalyticsFixture;
  let processors: ProcessorProcess[];
  let standbys: ProcessorProcess[];
  let events: RequestEvent[];

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'store-kinds-app.ts'),
      slots: 2,
      // the repartition topic has its own partition count: the route finds task 1_p among 6
      processor: { repartitionPartitions: { 'per-api': 6 } },
      extraStreams: {
        TenantCounts: { schema: 'schemas/TenantCount.avsc', partitionKey: 'userTenantDomain' },
      },
    });
    const deployed = await slotCluster(fixture, 2, 4).deploy(1);
    processors = deployed.actives;
    standbys = deployed.standbys.flat();
    events = takeRequests(
      { seed: 11, tenants: 8, apis: 5, startTime: Date.UTC(2026, 0, 1), stepMs: 40, jitterMs: 3000 },
      5000,
    );
    await fixture.produce(events);
    await fixture.waitCaughtUp();
    const repartition = `${fixture.appId}-per-api-repartition`;
    await waitFor('the repartition topic consumed', () => fixture.caughtUp(repartition));
  }, 180_000);
  afterAll(async () => fixture?.cleanup());

  const query = async (store: string, key: unknown, suffix = '') => {
    const encoded = encodeURIComponent(typeof key === 'string' ? key : JSON.stringify(key));
    // alternate the instance asked: one of them forwards to the owner
    const responses = await Promise.all(
      processors.map((p) =>
        fetch(`${p.address}/v1/apps/${fixture.appId}/stores/${store}/keys/${encoded}${suffix}`),
      ),
    );
    const bodies = await Promise.all(responses.map(body));
    expect(bodies[0]).toEqual(bodies[1]);
    expect(responses.map((r) => r.status)).toEqual([responses[0]!.status, responses[0]!.status]);
    return { status: responses[0]!.status, body: bodies[0] };
  };

  it('answers every window, session and value exactly', async () => {
    const want = expectedState(events);
    const tenants = [...want.running.keys()];
    const pairs = [...want.tumbling.keys()].map((pair) => JSON.parse(pair) as [string, string]);
    expect(tenants.length).toBe(8);
    for (const [tenant, api] of pairs) {
      const tumbling = await query('tumbling', [tenant, api]);
      expect(tumbling.body.windows).toEqual(
        want.sortedWindows(want.tumbling.get(JSON.stringify([tenant, api]))!, tumblingMs, (v) => v),
      );
      expect(tumbling.body).toMatchObject({
        store: 'tumbling',
        key: { userTenantDomain: tenant, apiName: api },
        task: `0_${tumbling.body.partition}`,
      });
      const sessions = await query('sessions', [tenant, api]);
      expect([...sessions.body.windows].sort((a: Window, b: Window) => a.start - b.start)).toEqual(
        want.sessions.get(JSON.stringify([tenant, api])),
      );
    }
    for (const tenant of tenants) {
      // a one-field key may be given bare
      const hopping = await query('hopping', tenant);
      expect(hopping.body.windows).toEqual(
        want.sortedWindows(want.hopping.get(tenant)!, hopping2.size, (requests) => ({ requests })),
      );
      expect((await query('running', [tenant])).body.value).toEqual(want.running.get(tenant));
      expect((await query('custom', [tenant])).body.value).toEqual(want.custom.get(tenant));
      expect((await query('peaks', [tenant])).body.value).toBe(want.peaks.get(tenant));
    }
    // a store behind the repartition: task 1_p, p the murmur2 partition of the repartition key
    for (const [api, requests] of want.perApi) {
      const perApi = await query('per-api', [api]);
      expect(perApi.status).toBe(200);
      expect(perApi.body).toMatchObject({
        key: { apiName: api },
        value: { requests },
        task: `1_${perApi.body.partition}`,
      });
    }
    // a time range narrows the windows
    const [tenant, api] = pairs[0]!;
    const all = want.sortedWindows(want.tumbling.get(JSON.stringify([tenant, api]))!, tumblingMs, (v) => v);
    const from = all[1]!.start;
    const ranged = await query('tumbling', [tenant, api], `/windows?from=${from}&to=${from + tumblingMs}`);
    expect(ranged.body.windows).toEqual([all[1]]);
  });

  it('lets a standby answer for any store with ?allowStale=true, a store behind the repartition too', async () => {
    const want = expectedState(events);
    const [api, requests] = [...want.perApi][0]!;
    const tenant = [...want.running.keys()][0]!;
    for (const [store, key, expected] of [
      ['per-api', [api], { value: { requests } }],
      ['running', [tenant], { value: want.running.get(tenant) }],
    ] as const) {
      const path = `/v1/apps/${fixture.appId}/stores/${store}/keys/${encodeURIComponent(JSON.stringify(key))}?allowStale=true`;
      // the standby of the key's slot answers from its own copy (the other forwards to the owner)
      await waitFor(`a standby to answer for ${store} as the active does`, async () => {
        const answers = await Promise.all(
          standbys.map(async (p) => body(await fetch(`${p.address}${path}`))),
        );
        const own = answers.find((answer) => answer.servedBy?.role === 'standby');
        return (
          own !== undefined &&
          own.value !== undefined &&
          JSON.stringify(own.value) === JSON.stringify(expected.value)
        );
      });
    }
  });

  it('refuses an unknown store, a malformed key, and says when a key holds nothing', async () => {
    const unknown = await query('nope', ['x']);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ title: 'Unknown store' });
    expect(unknown.body.detail).toContain('tumbling, hopping, sessions, running, custom, per-api, peaks');
    const badKey = await query('tumbling', ['only-one']);
    expect(badKey.status).toBe(400);
    expect(badKey.body.detail).toContain('[userTenantDomain, apiName]');
    const garbage = await query('running', '[not json');
    expect(garbage.status).toBe(400);
    const empty = await query('per-api', ['no-such-api']);
    expect(empty.status).toBe(404);
    expect(empty.body).toMatchObject({ title: 'No state' });
  });
});
