import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantCount } from '../../../schemas/event-types.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import { windowMs } from './apps/two-aggregations-app.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tenants = 6;

/** Per tenant, the largest request count of any closed (tenant, API, window). */
function expectedPeaks(events: readonly RequestEvent[], closedAt: number): Map<string, number> {
  const windows = new Map<string, number>();
  for (const event of events) {
    const start = Math.floor(event.requestTimestamp / windowMs) * windowMs;
    if (start + windowMs > closedAt) continue;
    const id = JSON.stringify([event.userTenantDomain, event.apiName, start]);
    windows.set(id, (windows.get(id) ?? 0) + 1);
  }
  const peaks = new Map<string, number>();
  for (const [id, count] of windows) {
    const tenant = (JSON.parse(id) as string[])[0]!;
    peaks.set(tenant, Math.max(peaks.get(tenant) ?? 0, count));
  }
  return peaks;
}

describe('two aggregations in one sub-topology (two stores per task)', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'two-aggregations-app.ts'),
      extraStreams: {
        TenantCounts: { schema: 'schemas/TenantCount.avsc', partitionKey: 'userTenantDomain' },
      },
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('keeps the running maximum of the windows per tenant, across a SIGKILL and a restore of both stores', async () => {
    const events = takeRequests({ seed: 7, tenants, apis: 4, startTime: 0, stepMs: 25 }, 8_000);
    const closedAt = 5 * 60_000;
    const ticks = Array.from({ length: tenants }, (_, index) => ({
      ...events[0]!,
      userTenantDomain: tenantName(index),
      requestTimestamp: closedAt,
    }));
    const first = await fixture.startProcessor({ name: 'first' });
    await fixture.produce(events.slice(0, 4_000));
    await waitFor(
      'some peaks to be written',
      async () => (await fixture.readStream('TenantCounts')).length > 0,
    );
    first.signal('SIGKILL');
    await first.exited;
    await fixture.startProcessor({ name: 'second' });
    await fixture.produce([...events.slice(4_000), ...ticks]);
    await fixture.waitCaughtUp();

    const outputs = (await fixture.readStream('TenantCounts')) as TenantCount[];
    const byTenant = new Map<string, number[]>();
    for (const output of outputs) {
      byTenant.set(output.userTenantDomain, [...(byTenant.get(output.userTenantDomain) ?? []), output.count]);
    }
    const want = expectedPeaks([...events, ...ticks], closedAt);
    expect(want.size).toBe(tenants);
    // in each tenant's partition, in offset order: a running maximum only grows, and ends at the peak
    for (const [tenant, peak] of want) {
      const counts = byTenant.get(tenant) ?? [];
      expect(
        counts.every((count, index) => index === 0 || count >= counts[index - 1]!),
        tenant,
      ).toBe(true);
      expect(counts.at(-1), tenant).toBe(peak);
    }
    expect(await fixture.deadLetters()).toEqual([]);
  });
});
