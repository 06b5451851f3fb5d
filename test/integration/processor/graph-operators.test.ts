import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiStats } from '../../../schemas/event-types.ts';
import type { RequestEvent } from '../../../schemas/request-generator.ts';
import { windowMs } from './apps/operators-app.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { sortStats } from './reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tenants = ['t0', 't1', 't2', 't3', 't4', 't5'];

function request(
  tenant: string,
  apiName: string,
  at: number,
  extra: Partial<RequestEvent> = {},
): RequestEvent {
  return {
    meta_clientType: 'web',
    applicationConsumerKey: 'key',
    applicationName: 'app',
    applicationId: 'app-1',
    applicationOwner: 'owner',
    apiContext: `/${apiName}`,
    apiName,
    apiVersion: '1.0',
    apiCreator: 'creator',
    apiTier: 'gold',
    apiHostname: 'gw',
    username: 'user',
    userTenantDomain: tenant,
    requestTimestamp: at,
    throttledOut: false,
    responseTime: 50 + (at % 97),
    backendTime: 20 + (at % 13),
    ...extra,
  };
}

/** The same app computed directly: what each operator does, then the closed windows. */
function expected(events: readonly RequestEvent[], closedBefore: number) {
  const throttled: RequestEvent[] = [];
  const counted: RequestEvent[] = [];
  const refused: RequestEvent[] = [];
  for (const event of events) {
    if (event.apiName === 'peek-refuses') refused.push(event);
    else if (event.throttledOut) {
      throttled.push(event);
      if (event.responseTime < 100) counted.push(event);
    } else if (event.apiName === 'fanout') counted.push(event, { ...event, apiName: 'fanout-copy' });
    else if (event.apiName !== 'dropped') counted.push(event);
  }
  const windows = new Map<string, RequestEvent[]>();
  for (const event of counted) {
    const start = Math.floor(event.requestTimestamp / windowMs) * windowMs;
    if (start + windowMs > closedBefore) continue;
    const id = JSON.stringify([event.userTenantDomain, event.apiName, start]);
    windows.set(id, [...(windows.get(id) ?? []), event]);
  }
  const avg = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const stats = [...windows].map(([id, members]): ApiStats => {
    const [userTenantDomain, apiName, windowStart] = JSON.parse(id) as [string, string, number];
    const times = members.map((member) => member.responseTime);
    return {
      userTenantDomain,
      apiName,
      windowStart,
      windowEnd: windowStart + windowMs,
      requests: members.length,
      throttledRequests: members.filter((member) => member.throttledOut).length,
      minResponseTime: Math.min(...times),
      avgResponseTime: avg(times),
      maxResponseTime: Math.max(...times),
      avgBackendTime: avg(members.map((member) => member.backendTime)),
    };
  });
  return { throttled, stats, refused };
}

describe('graph operators in one sub-topology (exactly once)', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'operators-app.ts'),
      extraStreams: {
        Throttled: {
          schema: 'schemas/Request.avsc',
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
        },
      },
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('branches, fans out, drops, merges, aggregates and writes both sinks exactly', async () => {
    const events: RequestEvent[] = [];
    const apis = ['orders', 'fanout', 'dropped', 'peek-refuses', 'pay'];
    for (let i = 0; i < 600; i++) {
      const tenant = tenants[i % tenants.length]!;
      events.push(
        request(tenant, apis[(i * 7) % apis.length]!, 1_000 + i * 97, {
          throttledOut: i % 5 === 0,
          responseTime: 40 + ((i * 31) % 150),
        }),
      );
    }
    // one late tick per tenant closes every window before it (stream time is per partition)
    const closedBefore = 120_000;
    for (const tenant of tenants) events.push(request(tenant, 'tick', closedBefore));
    await fixture.produce(events);
    await fixture.startProcessor();
    await fixture.waitCaughtUp();

    const want = expected(events, closedBefore);
    expect(want.stats.length).toBeGreaterThan(50);
    expect(want.refused.length).toBeGreaterThan(0);
    expect(want.throttled.length).toBeGreaterThan(0);
    expect(sortStats(await fixture.outputStats())).toEqual(sortStats(want.stats));
    const byTimeAndTenant = (a: RequestEvent, b: RequestEvent) =>
      a.requestTimestamp - b.requestTimestamp || a.userTenantDomain.localeCompare(b.userTenantDomain);
    const throttled = (await fixture.readStream('Throttled')) as RequestEvent[];
    expect([...throttled].sort(byTimeAndTenant)).toEqual([...want.throttled].sort(byTimeAndTenant));
    const deadLetters = await fixture.deadLetters();
    expect(deadLetters).toHaveLength(want.refused.length);
    for (const letter of deadLetters) {
      expect(letter.headers['sluice.dlq.stage']?.toString()).toBe('process');
      expect(letter.headers['sluice.dlq.error-message']?.toString()).toBe(
        'peek threw: peek refused this request',
      );
    }
  });
});
