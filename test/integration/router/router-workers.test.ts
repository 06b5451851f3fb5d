/**
 * A router with several worker processes (router.workers, node:cluster) on the real broker:
 * events through every worker stored exactly once, rate limits exact across workers, SIGTERM
 * drains every worker, a SIGKILLed worker is replaced while the router keeps serving.
 * Requests go over a new connection each (`agent: false`): the primary hands connections to
 * the workers in turn, so consecutive requests land on different workers.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { processStats } from '../../../bench/lib/process-stats.ts';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import type { SluiceProcess } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, type RouterFixture } from './router-fixture.ts';

type Router = SluiceProcess & { url: string };
type Outcome = { status: number; body: string } | { failed: string };

/** One POST on a connection of its own; a refused or cut connection is an outcome, not a throw. */
function post(url: string, body: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(
      `${url}/v1/streams/Request/events`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode!, body }));
        response.on('error', (error) => resolve({ failed: error.message }));
      },
    );
    req.on('error', (error) => resolve({ failed: error.message }));
    // an answer takes well under this even on a busy machine; the connection is then given up
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
    req.end(payload);
  });
}

/** The worker processes, from their "router listening" lines (the primary logs another message). */
function workerPids(router: Router): number[] {
  return router
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"router listening"'))
    .map((line) => (JSON.parse(line) as { pid: number }).pid);
}

function events(seed: number, count: number, tenants = 20): (RequestEvent & { eventId: string })[] {
  return takeRequests({ seed, tenants, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, count).map(
    (event, index) => ({ ...event, eventId: `s${seed}-${index}` }),
  );
}

/**
 * Keeps `senders` requests of `perRequest` events in flight until `until()` says stop or a
 * sender's connection is refused. The ids of events answered 202 (and when) and of requests that
 * got no answer fill in as it goes; `done` resolves when every sender stopped.
 */
function sendWhile(
  router: Router,
  options: { seed: number; senders: number; perRequest: number; until: () => boolean },
) {
  const pool = events(options.seed, 100_000);
  let next = 0;
  const progress = {
    accepted: [] as string[],
    acceptedAt: [] as number[],
    unanswered: [] as string[],
    /** 503s, with their bodies: a worker closing refuses what reaches it after it stopped accepting. */
    refused: [] as { ids: string[]; body: string }[],
  };
  const done = Promise.all(
    Array.from({ length: options.senders }, async () => {
      while (!options.until() && next < pool.length) {
        const batch = pool.slice(next, next + options.perRequest);
        next += options.perRequest;
        const outcome = await post(router.url, batch);
        const ids = batch.map((event) => event.eventId);
        if ('status' in outcome && outcome.status === 202) {
          progress.accepted.push(...ids);
          progress.acceptedAt.push(Date.now());
        } else if ('status' in outcome && outcome.status === 503)
          progress.refused.push({ ids, body: outcome.body });
        else if ('status' in outcome) throw new Error(`router answered ${outcome.status}: ${outcome.body}`);
        else {
          progress.unanswered.push(...ids);
          if (/ECONNREFUSED/.test(outcome.failed)) return;
        }
      }
    }),
  ).then(() => progress);
  return { progress, done };
}

/** A router whose workers all listen (its /readyz answers as soon as the first one does). */
async function startAllWorkers(fixture: RouterFixture): Promise<Router> {
  const router = await fixture.startRouter();
  await waitFor('every worker listening', () =>
    router.output().includes('"msg":"router workers all listening"'),
  );
  return router;
}

async function storedIds(fixture: RouterFixture): Promise<string[]> {
  return (await fixture.records()).map((record) => record.headers['event-id']!.toString());
}

describe('a router with two workers', () => {
  let fixture: RouterFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  it('stores every accepted event exactly once through both workers, and nothing of a rejected request', async () => {
    fixture = await createRouterFixture({ router: { workers: 2, rateLimit: { eventsPerSecond: 0 } } });
    const router = await startAllWorkers(fixture);
    const workers = workerPids(router);
    expect(workers).toHaveLength(2);
    const cpuBefore = workers.map((pid) => processStats(pid)!.cpuSeconds);

    const all = events(7, 6000);
    const accepted = new Set<string>();
    const rejected = new Set<string>();
    for (let i = 0; i < all.length; i += 8 * 25) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, j) => {
          const batch = all.slice(i + j * 25, i + (j + 1) * 25);
          const broken = (i / 25 + j) % 5 === 2;
          // one bad field (a string for a long) refuses the whole request
          if (broken) batch[3] = { ...batch[3]!, responseTime: 'slow' as never };
          const outcome = await post(router.url, batch);
          const ids = batch.map((event) => event.eventId);
          expect('status' in outcome && outcome.status).toBe(broken ? 422 : 202);
          for (const id of ids) (broken ? rejected : accepted).add(id);
        }),
      );
    }
    // both workers did part of the work (an idle worker uses next to no CPU)
    const cpuUsed = workers.map((pid, index) => processStats(pid)!.cpuSeconds - cpuBefore[index]!);
    for (const used of cpuUsed) expect(used).toBeGreaterThan(0.2);

    const stored = await storedIds(fixture);
    expect(stored.length).toBe(new Set(stored).size);
    expect(new Set(stored)).toEqual(accepted);
    expect(rejected.size).toBe(1200);

    // /metrics is one aggregate of both workers: the counters add up to what the clients saw
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toContain(
      `sluice_router_events_total{stream="Request",outcome="accepted",part="router"} ${accepted.size}`,
    );
    expect(metrics).toContain('sluice_router_requests_total{stream="Request",status="422",part="router"} 48');
  });

  it('keeps a rate limit exact across workers', async () => {
    // 60 events of burst and next to no refill: a limiter per worker would let up to 120 through
    fixture = await createRouterFixture({
      router: { workers: 2, rateLimit: { eventsPerSecond: 0.001, burst: 60 } },
    });
    const router = await startAllWorkers(fixture);
    const all = events(11, 150, 1);
    const outcomes = await Promise.all(all.map((event) => post(router.url, [event])));
    const accepted = all.filter((_, index) => (outcomes[index] as { status: number }).status === 202);
    expect(outcomes.filter((outcome) => 'status' in outcome && outcome.status === 429)).toHaveLength(90);
    expect(accepted).toHaveLength(60);
    expect(new Set(await storedIds(fixture))).toEqual(new Set(accepted.map((event) => event.eventId)));
  });

  it('drains every worker on SIGTERM: each 202 is stored, and it exits 0', async () => {
    fixture = await createRouterFixture({ router: { workers: 2, rateLimit: { eventsPerSecond: 0 } } });
    const router = await startAllWorkers(fixture);
    let signalledAt = Number.POSITIVE_INFINITY;
    const sending = sendWhile(router, { seed: 13, senders: 12, perRequest: 50, until: () => false });
    await waitFor('some events accepted', () => sending.progress.accepted.length > 2000, {
      timeoutMs: 60_000,
    });
    signalledAt = Date.now();
    router.signal('SIGTERM');
    const { accepted, acceptedAt, refused } = await sending.done;
    expect(await router.exited).toBe(0);
    // requests in flight at the signal were answered after it, once Kafka had them
    expect(acceptedAt.filter((at) => at > signalledAt).length).toBeGreaterThan(0);
    const stored = await storedIds(fixture);
    expect(stored.length).toBe(new Set(stored).size);
    const storedSet = new Set(stored);
    expect(accepted.filter((id) => !storedSet.has(id))).toEqual([]);
    // a request reaching a worker after it stopped accepting is refused before it is read
    expect(refused.flatMap((refusal) => refusal.ids).filter((id) => storedSet.has(id))).toEqual([]);
  });

  it('replaces a SIGKILLed worker and keeps serving; every 202 is stored', { timeout: 180_000 }, async () => {
    fixture = await createRouterFixture({ router: { workers: 2, rateLimit: { eventsPerSecond: 0 } } });
    const router = await startAllWorkers(fixture);
    const [victim, survivor] = workerPids(router);
    let stop = false;
    const sending = sendWhile(router, { seed: 17, senders: 8, perRequest: 50, until: () => stop });
    await waitFor('some events accepted', () => sending.progress.accepted.length > 1000, {
      timeoutMs: 60_000,
    });
    process.kill(victim!, 'SIGKILL');
    const replacement = await waitFor(
      'a replacement worker',
      () => workerPids(router).find((pid) => pid !== victim && pid !== survivor),
      { timeoutMs: 60_000 },
    );
    expect(router.output()).toMatch(/"signal":"SIGKILL".*"msg":"router worker died: starting another"/);
    const cpuBefore = processStats(replacement)!.cpuSeconds;
    await waitFor('the replacement serving', () => processStats(replacement)!.cpuSeconds - cpuBefore > 0.2, {
      timeoutMs: 60_000,
    });
    stop = true;
    const { accepted, unanswered, refused } = await sending.done;
    expect(refused).toEqual([]);

    // the survivor and the replacement answer everything now
    const after = events(19, 40 * 10);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(router.url, after.slice(i * 10, i * 10 + 10))),
    );
    expect(outcomes.every((outcome) => 'status' in outcome && outcome.status === 202)).toBe(true);

    const stored = await storedIds(fixture);
    expect(stored.length).toBe(new Set(stored).size);
    const storedSet = new Set(stored);
    expect([...accepted, ...after.map((event) => event.eventId)].filter((id) => !storedSet.has(id))).toEqual(
      [],
    );
    // what the killed worker had not answered may or may not be stored; nothing else is
    const known = new Set([...accepted, ...unanswered, ...after.map((event) => event.eventId)]);
    expect(stored.filter((id) => !known.has(id))).toEqual([]);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toContain('sluice_router_worker_restarts_total{part="router"} 1');
    expect(await router.stop()).toBe(0);
  });
});
