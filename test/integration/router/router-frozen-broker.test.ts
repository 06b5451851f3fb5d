/**
 * sendTimeoutMs is a hard deadline: with the broker frozen (SIGSTOP, a private broker), every
 * request gets its 503 about sendTimeoutMs after it arrived instead of waiting out the freeze,
 * and after SIGCONT every event that got a 202 is in the topic exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { freezeProcess } from '../../env/freeze.ts';
import { type PrivateKafka, startPrivateKafka } from '../../env/private-kafka.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const sendTimeoutMs = 3000;
// the deadline is measured inside the router; the margin covers the HTTP round trip on a busy machine
const marginMs = 3000;

describe('router while the broker is frozen', () => {
  let kafka: PrivateKafka;
  let fixture: RouterFixture;
  let brokerPid: number | undefined;
  beforeAll(async () => {
    kafka = await startPrivateKafka();
    brokerPid = (await kafka.service.status()).pid;
    fixture = await createRouterFixture({ kafkaBrokers: kafka.brokers, router: { sendTimeoutMs } });
  });
  afterAll(async () => {
    if (brokerPid !== undefined) process.kill(brokerPid, 'SIGCONT');
    await fixture?.cleanup();
    await kafka?.destroy();
  });

  it('answers 503 with Retry-After by sendTimeoutMs, and keeps every 202 event exactly once', {
    timeout: 240_000,
  }, async () => {
    expect(brokerPid).toBeDefined();
    const router = await fixture.startRouter();
    const events = takeRequests(
      { seed: 11, tenants: 10, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
      20_000,
    );
    let next = 0;
    const accepted: string[] = [];
    const send = async () => {
      const batch = events.slice(next, next + 10).map((event, i) => ({ ...event, eventId: `e-${next + i}` }));
      next += 10;
      const started = performance.now();
      const response = await postEvents(router.url, batch);
      if (response.status === 202) accepted.push(...batch.map((event) => event.eventId));
      return { status: response.status, response, ms: performance.now() - started };
    };

    for (let i = 0; i < 10; i++) expect((await send()).status).toBe(202);

    const frozen = await freezeProcess(brokerPid!);
    try {
      // concurrent requests, twice: the second wave meets the producer replaced after the first
      for (let wave = 0; wave < 2; wave++) {
        const answers = await Promise.all(Array.from({ length: 8 }, () => send()));
        for (const { status, response, ms } of answers) {
          expect(status, `wave ${wave + 1}: ${JSON.stringify(response.body)}`).toBe(503);
          expect(response.headers.get('retry-after')).toBeTruthy();
          expect(response.body.detail).toMatch(/within 3000 ms/);
          expect(ms).toBeLessThan(sendTimeoutMs + marginMs);
        }
      }
    } finally {
      frozen.thaw();
    }

    await waitFor('the router to accept again', async () => (await send()).status === 202, {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(202);

    const counts = new Map<string, number>();
    for (const record of await fixture.records()) {
      const id = record.headers['event-id']!.toString();
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const notOnce = accepted.filter((id) => counts.get(id) !== 1);
    expect(notOnce).toEqual([]);
  });
});
