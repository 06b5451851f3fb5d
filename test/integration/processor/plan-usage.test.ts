/**
 * apps/plan-usage.ts end to end: requests left-joined with their tenant's plan (a global table),
 * repartitioned by plan tier and counted per window; the active (one slot, cluster mode) is
 * SIGKILLed during the load and its standby, which holds the table too, takes over.
 * One input partition keeps the repartition topic in event-time order, so no record is late and
 * the output is compared exactly with a direct computation.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import planUsage, { noPlan, type PlanUsage } from '../../../apps/plan-usage.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { runSluice } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { byPlanAndWindow, expectedPlanUsage } from './plan-reference.ts';
import { tenantPlanStream } from './tables.ts';
import { ticks } from './usage-reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tenants = Array.from({ length: 4 }, (_, index) => tenantName(index));
/** tenant-3 has no plan row: it counts under `none`. */
const tiers: Record<string, string> = {
  [tenants[0]!]: 'premium',
  [tenants[1]!]: 'standard',
  [tenants[2]!]: 'standard',
};
const closedAt = 10 * 60_000;

const expectedUsage = (events: readonly RequestEvent[]) =>
  expectedPlanUsage(
    events.map((event) => ({
      plan: tiers[event.userTenantDomain] ?? noPlan,
      time: event.requestTimestamp,
      throttled: event.throttledOut,
    })),
    closedAt,
  );

describe('plan-usage: a left join with a global table feeding a repartitioned windowed aggregate', () => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'apps', 'plan-usage.ts'),
      partitions: 1,
      slots: 1,
      extraStreams: {
        ...tenantPlanStream,
        PlanUsage: { schema: 'schemas/PlanUsage.avsc', partitionKey: 'plan', eventTime: 'windowStart' },
      },
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('counts each request once under its tenant plan tier, across a standby takeover during the load; the test driver gives the same', async () => {
    // the plans come from a file, as an operator would load them
    const file = join(fixture.dir, 'plans.ndjson');
    writeFileSync(
      file,
      Object.entries(tiers)
        .map(([tenant, plan]) => JSON.stringify({ tenant, plan, requestQuota: 600, updatedAt: 0 }))
        .join('\n'),
    );
    const loaded = await runSluice([
      'produce',
      '--stream',
      'TenantPlan',
      '--kafka',
      '--file',
      file,
      '--config',
      fixture.configFile,
      '--json',
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(JSON.parse(loaded.stdout)).toMatchObject({ sent: 3, accepted: 3 });
    // sluice produce created the table's topic compacted
    const tableTopic = `tenantplan-${fixture.appId}`;
    expect((await fixture.admin.topicConfig(tableTopic))['cleanup.policy']).toBe('compact');

    const generated = takeRequests(
      { seed: 21, tenants: tenants.length, apis: 2, startTime: 0, stepMs: 40 },
      4000,
    );
    const events = [...generated, ...ticks(generated[0]!, tenants, ['api-0'], closedAt)];

    const active = await fixture.startProcessor({ name: 'active', slot: 0 });
    const standby = await fixture.startProcessor({ name: 'standby', slot: 0 });
    // two things the standby does side by side: either may be logged first
    await waitFor('the standby to load the table and follow the changelogs', () =>
      ['global table loaded', 'standby following the changelog'].every((line) =>
        standby.output().includes(line),
      ),
    );
    const feeder = fixture.feed(events, 800);
    await waitFor('part of the load to be sent', () => feeder.sent() >= events.length / 3, {
      timeoutMs: 60_000,
    });
    active.signal('SIGKILL');
    await active.exited;
    await feeder.done;
    await waitFor('the standby to take over', () => /takeover step: first commit/.test(standby.output()));
    await fixture.waitCaughtUp();
    const repartition = `${fixture.appId}-by-plan-repartition`;
    await waitFor('the per-plan windows to be counted', async () => {
      const [committed, ends] = await Promise.all([
        fixture.admin.committedOffsets(fixture.appId, repartition),
        fixture.admin.topicOffsets(repartition),
      ]);
      return ends.every(
        ({ partition, high }) => committed.find((entry) => entry.partition === partition)?.offset === high,
      );
    });

    const want = expectedUsage(events).sort(byPlanAndWindow);
    expect(new Set(want.map((usage) => usage.plan))).toEqual(new Set(['premium', 'standard', noPlan]));
    const fromKafka = ((await fixture.readStream('PlanUsage')) as PlanUsage[]).sort(byPlanAndWindow);
    expect(fromKafka).toEqual(want);
    expect(await fixture.deadLetters()).toEqual([]);

    // sluice/testing, given the same plans and requests, gives exactly what the processor gave
    const driver = await createTestDriver(planUsage, { config: fixture.configFile });
    driver.setTableRows(
      'TenantPlan',
      Object.fromEntries(
        Object.entries(tiers).map(([tenant, plan]) => [
          tenant,
          { tenant, plan, requestQuota: 600, updatedAt: 0 },
        ]),
      ),
    );
    for (let i = 0; i < events.length; i += 100) await driver.pipe(events.slice(i, i + 100));
    expect(driver.output<PlanUsage>().sort(byPlanAndWindow)).toEqual(fromKafka);
    expect(driver.deadLetters()).toEqual([]);
    await driver.close();
  });
});
