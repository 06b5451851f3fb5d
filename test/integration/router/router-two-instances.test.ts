import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

describe('two routers behind a round-robin client', () => {
  let fixture: RouterFixture;
  beforeAll(async () => {
    fixture = await createRouterFixture();
  });
  afterAll(async () => fixture?.cleanup());

  it('puts every accepted event in Kafka exactly once and nothing of a rejected request', async () => {
    const routers = await Promise.all([
      fixture.startRouter({ name: 'a' }),
      fixture.startRouter({ name: 'b' }),
    ]);
    const events = takeRequests(
      { seed: 4, tenants: 30, apis: 4, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
      3000,
    );
    const accepted = new Set<string>();
    const rejected = new Set<string>();
    const requests = [];
    for (let i = 0, request = 0; i < events.length; i += 50, request++) {
      const batch = events.slice(i, i + 50).map((event, j) => ({ ...event, eventId: `e-${i + j}` }));
      const broken = request % 7 === 3;
      if (broken) batch[10] = { ...batch[10]!, responseTime: 'slow' as never };
      const router = routers[request % 2]!;
      requests.push(
        postEvents(router.url, batch).then((response) => {
          const ids = batch.map((event) => event.eventId);
          if (response.status === 202) {
            expect(response.body.events.map((event: { eventId: string }) => event.eventId)).toEqual(ids);
            for (const id of ids) accepted.add(id);
          } else {
            expect(broken).toBe(true);
            expect(response.status).toBe(422);
            for (const id of ids) rejected.add(id);
          }
        }),
      );
      if (requests.length % 8 === 0) await Promise.all(requests.splice(0));
    }
    await Promise.all(requests);
    expect(accepted.size).toBeGreaterThan(2000);
    expect(rejected.size).toBeGreaterThan(100);

    const records = await fixture.records();
    const ids = records.map((record) => record.headers['event-id']!.toString());
    expect(ids.length).toBe(new Set(ids).size); // exactly once
    expect(new Set(ids)).toEqual(accepted);
  });
});
