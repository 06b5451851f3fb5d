/**
 * A schema registry outage while records with a new schema id arrive: the processor cannot fetch
 * the writer schema, so it pauses those partitions (with backoff) instead of dead-lettering good
 * records, says so in its status, and resumes when the registry returns; the output is exact.
 * The registry is a private Apicurio (its schemas in a file, so the restarted one knows the ids).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type PrivateRegistry, startPrivateRegistry } from '../../env/private-registry.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { expectedStats, sortStats } from './reference.ts';
import { instanceTasks, steadyEvents } from './task-status.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const requestSchema = JSON.parse(readFileSync(join(repo, 'schemas', 'Request.avsc'), 'utf8'));
/** A BACKWARD-compatible next version of Request: a new id the processor has never seen. */
const requestV2 = {
  ...requestSchema,
  fields: [...requestSchema.fields, { name: 'region', type: 'string', default: 'unknown' }],
};

describe('processor during a schema registry outage', () => {
  let registry: PrivateRegistry | undefined;
  let fixture: AnalyticsFixture | undefined;
  afterAll(async () => {
    await fixture?.cleanup();
    await registry?.destroy();
  });

  it('pauses partitions that need an unknown schema id, resumes when the registry returns, output exact, no dead letters', async () => {
    registry = await startPrivateRegistry();
    const f = await createAnalyticsFixture({ partitions: 2, slots: 1, registryUrl: registry.url });
    fixture = f;
    const input = steadyEvents(31, 6000);
    await f.produce(input.slice(0, 3000));
    const processor = await f.startProcessor({ name: 'decoder', slot: 0 });
    await f.waitCaughtUp(120_000);

    // records written with a schema version the processor has not fetched yet
    const v2 = await f.registry.register(`${f.inputTopic}-value`, requestV2);
    const later = await Promise.all(
      input.slice(3000).map(async (event) => ({
        key: event.userTenantDomain,
        value: await f.registry.encode(v2, { ...event, region: 'eu' }),
      })),
    );
    await registry.service.stop();
    await f.produceEncoded(later);

    const tasks = () => instanceTasks(processor.address);
    await waitFor(
      'a partition suspended because the registry is unavailable',
      async () =>
        (await tasks()).some((task) => task.state === 'suspended' && /unavailable/.test(task.reason ?? '')),
      { timeoutMs: 60_000 },
    );
    const readiness = await fetch(`${processor.address}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { reason: string }).reason).toMatch(/suspended.*registry/);
    expect(await f.caughtUp()).toBe(false);

    await registry.service.start(() => undefined);
    await f.waitCaughtUp(120_000);
    expect((await tasks()).map((task) => task.state)).toEqual(['running', 'running']);
    expect(await f.deadLetters()).toEqual([]);
    const expected = expectedStats(await f.inputRecords());
    expect(sortStats(await f.outputStats())).toEqual(expected.stats);
    expect(await processor.stop()).toBe(0);
  }, 600_000);
});
