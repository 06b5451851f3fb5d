/**
 * Tasks that read two input streams (a merge of the app's source with `sources.from(Mobile)`):
 * task p reads partition p of both topics and commits both offsets in one transaction, and stream
 * time is the largest event time over both (ticks on one input close windows holding the other's
 * records). Exact output against an independent computation, in group mode, and in cluster mode
 * across a SIGKILL of the processor during the load; a partition-count mismatch refused at start.
 */
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { freePort, runSluice } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { expectedStats, sortStats } from './reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const app = join(repo, 'test', 'integration', 'processor', 'apps', 'merge-app.ts');
const mobileStream = {
  Mobile: { schema: 'schemas/Request.avsc', partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' },
};
const start = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Requests split between the two inputs (every third one to Mobile), in time order per input. */
function load(seed: number, count: number) {
  const events = takeRequests({ seed, tenants: 12, apis: 3, startTime: start, stepMs: 200 }, count);
  return {
    events,
    main: events.filter((_, index) => index % 3 !== 0),
    mobile: events.filter((_, index) => index % 3 === 0),
  };
}

/** One request per tenant two hours after the load, on the main input only: it closes every window. */
function ticks(events: readonly RequestEvent[]): RequestEvent[] {
  const last = Math.max(...events.map((event) => event.requestTimestamp));
  const tenants = [...new Set(events.map((event) => event.userTenantDomain))];
  return tenants.map((tenant) => ({
    ...events[0]!,
    userTenantDomain: tenant,
    apiName: 'tick',
    requestTimestamp: last + 2 * 3_600_000,
  }));
}

/**
 * What the app must output: the windows of all records of both inputs. The app's hour of grace
 * keeps every record on time, so this is the reference taken in time order (one sequence, nothing
 * late), and only the ticks' own windows stay open.
 */
function expected(events: readonly RequestEvent[]) {
  const ordered = [...events].sort((a, b) => a.requestTimestamp - b.requestTimestamp);
  const { stats, late } = expectedStats(
    ordered.map((event, index) => ({ partition: 0, offset: BigInt(index), event })),
  );
  expect(late).toEqual([]);
  return stats;
}

async function waitBothCaughtUp(fixture: AnalyticsFixture) {
  await waitFor(
    'both inputs committed',
    async () => (await fixture.caughtUp()) && (await fixture.caughtUp(fixture.topicOf('Mobile'))),
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * Once both inputs are committed, closes every window with ticks and checks the output: each
 * window once with exactly its records of both inputs, nothing dead-lettered.
 */
async function expectExactOnceClosed(f: AnalyticsFixture, events: readonly RequestEvent[]): Promise<void> {
  await waitBothCaughtUp(f);
  const closing = ticks(events);
  await f.produce(closing);
  await waitBothCaughtUp(f);
  const want = expected([...events, ...closing]);
  expect(want.length).toBeGreaterThan(100);
  expect(sortStats(await f.outputStats())).toEqual(want);
  expect(await f.deadLetters()).toEqual([]);
}

describe('a task with two input streams', () => {
  let fixture: AnalyticsFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  it('merges both inputs with exact output (group mode); sluice reset rewinds both inputs', {
    timeout: 180_000,
  }, async () => {
    const f = await createAnalyticsFixture({ app, extraStreams: mobileStream });
    fixture = f;
    const { events, main, mobile } = load(31, 3000);
    await f.admin.ensureTopics([{ topic: f.topicOf('Mobile'), partitions: 4 }]);
    await f.produce(main);
    await f.produce(mobile, f.topicOf('Mobile'));
    const first = await f.startProcessor({ name: 'first' });
    await expectExactOnceClosed(f, events);

    // both inputs go back to their start (the state is wiped with them)
    expect(await first.stop()).toBe(0);
    const reset = await runSluice(['reset', '--app', f.appId, '--config', f.configFile, '--no-database']);
    expect(reset.code, reset.stderr).toBe(0);
    for (const topic of [f.inputTopic, f.topicOf('Mobile')]) {
      expect(reset.stdout).toContain(`${topic}[0]: `);
      const offsets = await f.admin.committedOffsets(f.appId, topic);
      expect(offsets.map((entry) => entry.offset)).toEqual(offsets.map(() => '0'));
    }
    await f.startProcessor({ name: 'rerun' });
    await waitBothCaughtUp(f);
    // the rerun reads both inputs whole, ticks included, as fast as each arrives: the main input
    // may run ahead (no timestamp-ordered choice across inputs), so some Mobile records can be
    // late now. Every record of both inputs is still accounted for once: counted or dead-lettered.
    const counted = (await f.outputStats()).reduce((sum, stats) => sum + stats.requests, 0);
    const late = (await f.deadLetters()).filter(
      (letter) => letter.headers['sluice.dlq.stage']?.toString() === 'late',
    );
    expect(counted - events.length + late.length).toBe(events.length);
  });

  it('stays exact across a SIGKILL during the load (cluster mode)', { timeout: 180_000 }, async () => {
    const f = await createAnalyticsFixture({ app, extraStreams: mobileStream, slots: 1 });
    fixture = f;
    const { events, main, mobile } = load(32, 6000);
    const first = await f.startProcessor({ name: 'first', slot: 0 });
    const feeders = [f.feed(main, 1200), f.feed(mobile, 600, f.topicOf('Mobile'))];
    await waitFor('a third of the load to be sent', () => feeders[0]!.sent() >= main.length / 3, {
      timeoutMs: 60_000,
    });
    // killed once it has committed both inputs at least once: the second resumes mid-load from both
    await waitFor('the first to commit offsets of both inputs', async () => {
      const [mainOffsets, mobileOffsets] = await Promise.all([
        f.admin.committedOffsets(f.appId, f.inputTopic),
        f.admin.committedOffsets(f.appId, f.topicOf('Mobile')),
      ]);
      return [mainOffsets, mobileOffsets].every((offsets) =>
        offsets.some((entry) => Number(entry.offset) > 0),
      );
    });
    expect(feeders[0]!.sent()).toBeLessThan(main.length);
    first.signal('SIGKILL');
    await first.exited;
    await f.startProcessor({ name: 'second', slot: 0 });
    await Promise.all(feeders.map((feeder) => feeder.done));
    // each window once, with every record of both inputs counted once
    await expectExactOnceClosed(f, events);
  });

  it('refuses to start when the inputs are not co-partitioned, saying what to change', async () => {
    const f = await createAnalyticsFixture({ app, extraStreams: mobileStream, partitions: 2 });
    fixture = f;
    const mobileTopic = f.topicOf('Mobile');
    await f.admin.ensureTopics([{ topic: mobileTopic, partitions: 3 }]);
    const run = await runSluice([
      'processor',
      '--app',
      app,
      '--app-id',
      f.appId,
      '--config',
      f.configFile,
      '--port',
      String(await freePort()),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(
      `the input stream Mobile (topic ${mobileTopic}) has 3 partitions but the source ${f.inputTopic} has 2: inputs read by the same task must be co-partitioned`,
    );
  });
});
