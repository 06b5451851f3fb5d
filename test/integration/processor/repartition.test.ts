import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiUsage, ThrottleAlert } from '../../../apps/api-usage.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import apiUsageLongGrace, { longGrace } from './apps/api-usage-long-grace.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { byAlertKey, byUsageKey, expectedAlerts, expectedUsage, ticks } from './usage-reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tenants = 4;
const apis = 3;
const closedAt = 20 * 60_000;

/** Requests in event-time order over ~4 minutes, and a tick per tenant and API that closes every window. */
function workload(): { events: RequestEvent[]; closing: RequestEvent[] } {
  const events = takeRequests({ seed: 13, tenants, apis, startTime: 0, stepMs: 40 }, 6_000);
  const tenantNames = Array.from({ length: tenants }, (_, index) => tenantName(index));
  const apiNames = Array.from({ length: apis }, (_, index) => `api-${index}`);
  return { events, closing: ticks(events[0]!, tenantNames, apiNames, closedAt) };
}

describe.each([
  { mode: 'cluster mode (one slot)', slots: 1, args: [] },
  { mode: 'consumer-group mode', slots: undefined, args: [] },
  { mode: 'consumer-group mode, at least once', slots: undefined, args: ['--guarantee', 'at_least_once'] },
  // more partitions than the input: the group member owning input partition i also owns
  // repartition partitions p with p mod 4 = i (app-partitions.ts)
  { mode: 'group mode, 7-partition repartition', slots: undefined, args: [], byApi: 7 },
  // fewer: one slot still owns the numbers of both sub-topologies
  { mode: 'one slot, 3-partition repartition', slots: 1, args: [], byApi: 3 },
])('api-usage: a groupBy that repartitions, $mode', ({ slots, args, byApi }) => {
  let fixture: AnalyticsFixture;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'api-usage-long-grace.ts'),
      slots,
      ...(byApi ? { processor: { repartitionPartitions: { 'by-api': byApi } } } : {}),
      extraStreams: {
        ApiUsage: { schema: 'schemas/ApiUsage.avsc', partitionKey: 'apiName', eventTime: 'windowStart' },
        ThrottleAlerts: {
          schema: 'schemas/ThrottleAlert.avsc',
          partitionKey: 'userTenantDomain',
          eventTime: 'windowStart',
        },
      },
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('counts every request once per API across tenants, alerts on bursts, purges the repartition topic; the test driver gives the same', async () => {
    const { events, closing } = workload();
    const processor = await fixture.startProcessor(slots === undefined ? { args } : { slot: 0, args });
    const repartitionTopic = `${fixture.appId}-by-api-repartition`;
    const warnings = () =>
      processor
        .output()
        .split('\n')
        .filter((line) => /"level":(40|50|60)/.test(line))
        .slice(-5);
    const allProcessed = async () => {
      await fixture.waitCaughtUp();
      await waitFor(
        'the downstream sub-topology to commit all repartition records',
        () => fixture.caughtUp(repartitionTopic),
        {
          describe: warnings,
        },
      );
    };
    await fixture.feed(events, 800).done;
    // the ticks only once everything before them went through: otherwise a tick through one
    // upstream task could move a downstream partition's stream time past records still on their way
    await allProcessed();
    await fixture.produce(closing);
    await allProcessed();

    // the usage windows' grace (10 min) covers any skew between upstream tasks: nothing is late
    expect(await fixture.deadLetters()).toEqual([]);
    const usage = (await fixture.readStream('ApiUsage')) as ApiUsage[];
    const wantUsage = expectedUsage([...events, ...closing], closedAt, longGrace).sort(byUsageKey);
    expect(wantUsage.length).toBeGreaterThanOrEqual(apis * 3);
    expect(usage.sort(byUsageKey)).toEqual(wantUsage);
    const alerts = (await fixture.readStream('ThrottleAlerts')) as ThrottleAlert[];
    const wantAlerts = expectedAlerts([...events, ...closing], closedAt, longGrace).sort(byAlertKey);
    expect(wantAlerts.length).toBeGreaterThan(0);
    expect(alerts.sort(byAlertKey)).toEqual(wantAlerts);
    // consumed repartition records were deleted (the first commit of each task purges)
    const ends = await fixture.admin.topicOffsets(repartitionTopic);
    expect(ends.length).toBe(byApi ?? 4);
    expect((await fixture.admin.topicOffsets(`${fixture.appId}-by-api-changelog`)).length).toBe(byApi ?? 4);
    expect(ends.filter((end) => end.high !== '0').every((end) => BigInt(end.low) > 0n)).toBe(true);

    // sluice/testing, given the same input, gives exactly what the processor gave on both sinks
    const driver = await createTestDriver(apiUsageLongGrace, { config: fixture.configFile });
    for (let i = 0; i < events.length; i += 100) await driver.pipe(events.slice(i, i + 100));
    await driver.pipe(closing);
    expect(driver.output<ApiUsage>('ApiUsage').sort(byUsageKey)).toEqual(usage);
    expect(driver.output<ThrottleAlert>('ThrottleAlerts').sort(byAlertKey)).toEqual(alerts);
    expect(driver.deadLetters()).toEqual([]);
    await driver.close();
  });
});
