import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type PrivateKafka, startPrivateKafka } from '../../env/private-kafka.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

describe('router while Kafka is down', () => {
  let kafka: PrivateKafka;
  let fixture: RouterFixture;
  beforeAll(async () => {
    kafka = await startPrivateKafka();
    fixture = await createRouterFixture({ kafkaBrokers: kafka.brokers, router: { sendTimeoutMs: 3000 } });
  });
  afterAll(async () => {
    await fixture?.cleanup();
    await kafka?.destroy();
  });

  it('answers 503 with Retry-After, loses no acknowledged event, and recovers without a restart', {
    timeout: 180_000,
  }, async () => {
    const router = await fixture.startRouter();
    const events = takeRequests(
      { seed: 9, tenants: 10, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
      100_000,
    );
    let next = 0;
    const accepted = new Set<string>();
    const statuses: number[] = [];
    const send = async () => {
      const batch = events.slice(next, next + 20).map((event, i) => ({ ...event, eventId: `e-${next + i}` }));
      next += 20;
      const response = await postEvents(router.url, batch);
      statuses.push(response.status);
      if (response.status === 202) for (const event of batch) accepted.add(event.eventId);
      else {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBeTruthy();
      }
      return response.status;
    };

    for (let i = 0; i < 20; i++) expect(await send()).toBe(202);
    await kafka.service.stop();
    await waitFor('a 503 while Kafka is down', async () => (await send()) === 503, {
      timeoutMs: 60_000,
      intervalMs: 10,
    });
    expect((await fetch(`${router.url}/readyz`)).status).toBe(503);
    await kafka.service.start(() => undefined);
    await waitFor('the router to accept again', async () => (await send()) === 202, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    for (let i = 0; i < 10; i++) expect(await send()).toBe(202);

    const ids = new Set((await fixture.records()).map((record) => record.headers['event-id']!.toString()));
    const lost = [...accepted].filter((id) => !ids.has(id));
    expect(lost).toEqual([]);
    expect(statuses).toContain(503);
  });
});
