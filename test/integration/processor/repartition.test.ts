import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiUsage, ThrottleAlert } from '../../../apps/api-usage.ts';
import { decodeRepartitionValue } from '../../../processor/app/repartition-codec.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { byAlertKey, byUsageKey, expectedAlerts, expectedUsage, ticks } from './usage-reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tenants = 4;
const apis = 3;
const closedAt = 10 * 60_000;

/** Requests in event-time order over ~4 minutes, then a tick per tenant and API that closes every window. */
function workload(): RequestEvent[] {
  const events = takeRequests({ seed: 13, tenants, apis, startTime: 0, stepMs: 40 }, 6_000);
  const tenantNames = Array.from({ length: tenants }, (_, index) => tenantName(index));
  const apiNames = Array.from({ length: apis }, (_, index) => `api-${index}`);
  return [...events, ...ticks(events[0]!, tenantNames, apiNames, closedAt)];
}

/** Records the downstream aggregation found late (a repartition merges upstream partitions that are not in step). */
async function lateAfterRepartition(fixture: AnalyticsFixture): Promise<RequestEvent[]> {
  return (await fixture.deadLetters())
    .filter(
      (letter) =>
        letter.headers['sluice.dlq.stage']?.toString() === 'late' &&
        letter.headers['sluice.dlq.topic']?.toString().endsWith('-by-api-repartition'),
    )
    .map((letter) => decodeRepartitionValue(letter.value) as RequestEvent);
}

describe.each([
  { mode: 'cluster mode (one slot)', slots: 1, args: [] },
  { mode: 'consumer-group mode', slots: undefined, args: [] },
  { mode: 'consumer-group mode, at least once', slots: undefined, args: ['--guarantee', 'at_least_once'] },
])('api-usage: a groupBy that repartitions, $mode', ({ slots, args }) => {
  let fixture: AnalyticsFixture;
  let logs = () => '';

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      app: join(repo, 'apps', 'api-usage.ts'),
      slots,
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

  it('counts every request once per API across tenants, alerts on bursts, and purges the repartition topic', async () => {
    const events = workload();
    const processor = await fixture.startProcessor(slots === undefined ? { args } : { slot: 0, args });
    logs = () => processor.output();
    // fed at a steady pace, as in production: upstream tasks stay close in event time, so the
    // repartition topic's partitions interleave them within the window's grace
    await fixture.feed(events, 400).done;
    await fixture.waitCaughtUp();
    const repartitionTopic = `${fixture.appId}-by-api-repartition`;
    let seen: unknown;
    const caughtUpDownstream = async () => {
      const [committed, ends] = await Promise.all([
        fixture.admin.committedOffsets(fixture.appId, repartitionTopic),
        fixture.admin.topicOffsets(repartitionTopic),
      ]);
      seen = { committed, ends };
      return ends.every(
        ({ partition, high }) =>
          high === '0' || committed.find((entry) => entry.partition === partition)?.offset === high,
      );
    };
    const { waitFor } = await import('../../env/wait.ts');
    await waitFor('the downstream sub-topology to commit all repartition records', caughtUpDownstream, {
      describe: () => ({
        seen,
        logs: logs()
          .split('\n')
          .filter((line) => /"level":(40|50|60)/.test(line))
          .slice(-5),
      }),
    });

    const late = new Set((await lateAfterRepartition(fixture)).map((event) => JSON.stringify(event)));
    // upstream tasks run at their own pace: a few records may reach their API's partition late
    expect(late.size).toBeLessThan(events.length / 20);
    const onTime = events.filter((event) => !late.has(JSON.stringify(event)));
    const usage = (await fixture.readStream('ApiUsage')) as ApiUsage[];
    const wantUsage = expectedUsage(onTime, closedAt).sort(byUsageKey);
    expect(wantUsage.length).toBeGreaterThanOrEqual(apis * 3);
    expect(usage.sort(byUsageKey)).toEqual(wantUsage);
    const alerts = (await fixture.readStream('ThrottleAlerts')) as ThrottleAlert[];
    const wantAlerts = expectedAlerts(events, closedAt).sort(byAlertKey);
    expect(wantAlerts.length).toBeGreaterThan(0);
    expect(alerts.sort(byAlertKey)).toEqual(wantAlerts);
    // consumed repartition records were deleted (the first commit of each task purges)
    const ends = await fixture.admin.topicOffsets(repartitionTopic);
    expect(ends.filter((end) => end.high !== '0').every((end) => BigInt(end.low) > 0n)).toBe(true);
  });
});
