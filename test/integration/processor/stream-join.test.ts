/**
 * Stream–stream windowed joins on the real broker (apps/stream-join-app.ts): web requests joined
 * with mobile requests of the same tenant at most 2 s apart — inner, left and outer, each to its
 * own sink — compared exactly with a direct computation over both inputs. Cluster mode, one slot:
 * the active is SIGKILLed during the load and its standby (following the six join stores'
 * changelogs) takes over; then that instance stops and a third one starts on a fresh disk, restores
 * the join stores from their changelogs, and only then do the windows close. The records the
 * first two committed are never read again, so the left and outer joins' null results for them
 * can only come from the restored stores. Consumer-group mode too: the member SIGKILLed during
 * the load, another member goes on from the group's commits and the join stores' changelogs.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Request } from '../../../schemas/event-types.ts';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import { label, type RequestPair, withinMs } from './apps/stream-join-app.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { restoredByPartition } from './logs.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const pairStream = {
  schema: 'test/integration/processor/apps/RequestPair.avsc',
  partitionKey: 'userTenantDomain',
};
const start = Date.UTC(2026, 0, 1, 12, 0, 0);

/** The joins computed directly: every web–mobile pair of a tenant at most `withinMs` apart, and who matched nobody. */
function expectedPairs(web: readonly Request[], mobile: readonly Request[]) {
  const pairs: RequestPair[] = [];
  const matched = new Set<Request>();
  for (const w of web) {
    for (const m of mobile) {
      if (w.userTenantDomain !== m.userTenantDomain) continue;
      if (Math.abs(w.requestTimestamp - m.requestTimestamp) > withinMs) continue;
      matched.add(w).add(m);
      pairs.push({
        userTenantDomain: w.userTenantDomain,
        web: label(w),
        mobile: label(m),
        at: Math.max(w.requestTimestamp, m.requestTimestamp),
      });
    }
  }
  const alone = (requests: readonly Request[], side: 'web' | 'mobile'): RequestPair[] =>
    requests
      .filter((request) => !matched.has(request))
      .map((request) => ({
        userTenantDomain: request.userTenantDomain,
        web: side === 'web' ? label(request) : null,
        mobile: side === 'mobile' ? label(request) : null,
        at: request.requestTimestamp,
      }));
  return {
    inner: pairs,
    left: [...pairs, ...alone(web, 'web')],
    outer: [...pairs, ...alone(web, 'web'), ...alone(mobile, 'mobile')],
  };
}

const sorted = (pairs: readonly RequestPair[]) => [...pairs].map((pair) => JSON.stringify(pair)).sort();

const joinFixture = (slots?: number) =>
  createAnalyticsFixture({
    app: join(repo, 'test', 'integration', 'processor', 'apps', 'stream-join-app.ts'),
    slots,
    extraStreams: {
      Mobile: {
        schema: 'schemas/Request.avsc',
        partitionKey: 'userTenantDomain',
        eventTime: 'requestTimestamp',
      },
      Joined: pairStream,
      LeftJoined: pairStream,
      OuterJoined: pairStream,
    },
  });

const generate = (seed: number, count: number, stepMs: number) =>
  takeRequests({ seed, tenants: 10, apis: 3, startTime: start, stepMs }, count);

const bothCaughtUp = (fixture: AnalyticsFixture) => async () =>
  (await fixture.caughtUp()) && (await fixture.caughtUp(fixture.topicOf('Mobile')));

/** Feeds both inputs in the background and waits until a third is sent and both were committed. */
async function feedPartly(fixture: AnalyticsFixture, web: RequestEvent[], mobile: RequestEvent[]) {
  // 15 s of load: the kill must come while it flows, after a processor start (a group join) under load
  const feeders = [fixture.feed(web, 200), fixture.feed(mobile, 100, fixture.topicOf('Mobile'))];
  await waitFor('a third of the load to be sent', () => feeders[0]!.sent() >= web.length / 3, {
    timeoutMs: 60_000,
  });
  await waitFor('both inputs committed once', async () => {
    const offsets = await Promise.all(
      [fixture.inputTopic, fixture.topicOf('Mobile')].map((topic) =>
        fixture.admin.committedOffsets(fixture.appId, topic),
      ),
    );
    return offsets.every((each) => each.some((entry) => Number(entry.offset) > 0));
  });
  expect(feeders[0]!.sent()).toBeLessThan(web.length);
  return { done: () => Promise.all(feeders.map((feeder) => feeder.done)) };
}

/** One web request per tenant two hours later closes every window (the grace is an hour); then the exact comparison. */
async function closeAndCompare(fixture: AnalyticsFixture, web: RequestEvent[], mobile: RequestEvent[]) {
  const last = Math.max(...[...web, ...mobile].map((request) => request.requestTimestamp));
  const tenants = [...new Set(web.map((request) => request.userTenantDomain))];
  await fixture.produce(
    tenants.map((tenant) => ({
      ...web[0]!,
      userTenantDomain: tenant,
      apiName: 'tick',
      requestTimestamp: last + 2 * 3_600_000,
    })),
  );
  await waitFor('the ticks committed', bothCaughtUp(fixture), { timeoutMs: 60_000 });
  const want = expectedPairs(web, mobile);
  expect(want.inner.length).toBeGreaterThan(100);
  expect(want.left.length).toBeGreaterThan(want.inner.length);
  expect(want.outer.length).toBeGreaterThan(want.left.length);
  const read = async (name: string) => sorted((await fixture.readStream(name)) as RequestPair[]);
  expect(await read('Joined')).toEqual(sorted(want.inner));
  expect(await read('LeftJoined')).toEqual(sorted(want.left));
  expect(await read('OuterJoined')).toEqual(sorted(want.outer));
  expect(await fixture.deadLetters()).toEqual([]);
}

describe('stream–stream joins (cluster mode, exactly once)', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await joinFixture(1);
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('gives exact inner, left and outer results across a SIGKILL, restoring the join stores on a fresh disk', {
    timeout: 180_000,
  }, async () => {
    const web = generate(41, 3000, 200);
    const mobile = generate(42, 1500, 400);
    const active = await fixture.startProcessor({ name: 'active', slot: 0 });
    const standby = await fixture.startProcessor({ name: 'standby', slot: 0 });
    await waitFor('the standby to follow the changelogs', () =>
      /standby following the changelog/.test(standby.output()),
    );
    const feeding = await feedPartly(fixture, web, mobile);
    active.signal('SIGKILL');
    await active.exited;
    await feeding.done();
    await waitFor('the standby to take over', () => /takeover step: first commit/.test(standby.output()));
    await waitFor('both inputs committed', bothCaughtUp(fixture), { timeoutMs: 90_000 });
    expect(await standby.stop()).toBe(0);
    // a state directory of its own: the join stores come from their changelogs
    const fresh = await fixture.startProcessor({ name: 'fresh', slot: 0 });
    await waitFor('the fresh instance to run its task', () => restoredByPartition(fresh.output()).size > 0);
    const restored = [...restoredByPartition(fresh.output()).values()].reduce((a, b) => a + b, 0);
    expect(restored).toBeGreaterThan(1000);
    await closeAndCompare(fixture, web, mobile);
  });
});

describe('stream–stream joins (consumer-group mode, exactly once)', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await joinFixture();
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('gives exact inner, left and outer results across a SIGKILL of the group member', {
    timeout: 180_000,
  }, async () => {
    const web = generate(43, 3000, 200);
    const mobile = generate(44, 1500, 400);
    const first = await fixture.startProcessor({ name: 'first' });
    const feeding = await feedPartly(fixture, web, mobile);
    first.signal('SIGKILL');
    await first.exited;
    await fixture.startProcessor({ name: 'second' });
    await feeding.done();
    await waitFor('both inputs committed', bothCaughtUp(fixture), { timeoutMs: 90_000 });
    await closeAndCompare(fixture, web, mobile);
  });
});
