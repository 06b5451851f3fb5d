/**
 * A router started while the schema registry is down: its stream answers 503 with Retry-After and
 * produces nothing, /readyz says why; when the registry comes up the router finds the id by itself
 * and accepts (events read back exactly); a registry that goes down again changes nothing for the
 * stream, whose id is known. The registry is a private Apicurio (started once: about a minute).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactAvroType } from '../../../schemas/exact-long.ts';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type PrivateRegistry, startPrivateRegistry } from '../../env/private-registry.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const schema = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '..', '..', '..', 'schemas', 'Request.avsc'), 'utf8'),
);
const reader = exactAvroType(schema as never, { beyondSafe: 'bigint' });

describe('router during a schema registry outage', () => {
  let registry: PrivateRegistry;
  let fixture: RouterFixture;
  beforeAll(async () => {
    registry = await startPrivateRegistry();
    await registry.service.stop();
    fixture = await createRouterFixture({ partitions: 2, registryUrl: registry.url });
  }, 180_000);
  afterAll(async () => {
    await fixture?.cleanup();
    await registry?.destroy();
  });

  it('answers 503 until the registry gives the schema id, then 202; a later outage changes nothing', {
    timeout: 240_000,
  }, async () => {
    const events = takeRequests(
      { seed: 18, tenants: 5, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
      300,
    );
    const router = await fixture.startRouter({ readyWhenListening: true });

    const refused = await postEvents(router.url, events.slice(0, 10));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.body.type).toBe('https://sluice.dev/problems/router-schema-unavailable');
    expect(refused.body.detail).toMatch(/schema registry at .* does not answer/);
    expect(refused.body.detail).toMatch(/nothing was published/);
    const readiness = await fetch(`${router.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { reason: string }).reason).toMatch(
      /no schema id yet for stream\(s\) Request/,
    );

    await registry.service.start(() => undefined);
    const accepted = new Map<string, unknown>();
    const send = async (batch: typeof events) => {
      const response = await postEvents(router.url, batch);
      if (response.status === 202) {
        (response.body.events as { eventId: string }[]).forEach((placement, index) => {
          accepted.set(placement.eventId, batch[index]);
        });
      } else {
        expect(response.status).toBe(503);
        expect(response.body.type).toBe('https://sluice.dev/problems/router-schema-unavailable');
      }
      return response.status;
    };
    // the retry is at most 30 s (+25 % jitter) away
    await waitFor('a 202 once the registry answers', async () => (await send(events.slice(10, 20))) === 202, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    for (let i = 20; i < 150; i += 10) expect(await send(events.slice(i, i + 10))).toBe(202);
    const id = await createSchemaRegistryClient(registry.url).latestId(`${fixture.topic}-value`);

    await registry.service.stop();
    for (let i = 150; i < 300; i += 10) expect(await send(events.slice(i, i + 10))).toBe(202);

    // exactly the accepted events, once each, with the id the registry gave, nothing of the 503s
    const records = await fixture.records();
    expect(records.map((record) => record.value!.readInt32BE(1))).toEqual(records.map(() => id));
    const stored = new Map(
      records.map((record) => [
        record.headers['event-id']!.toString(),
        reader.fromBuffer(record.value!.subarray(5)),
      ]),
    );
    expect(records).toHaveLength(accepted.size);
    expect(stored).toEqual(accepted);
    expect(accepted.size).toBe(290);
  });
});
