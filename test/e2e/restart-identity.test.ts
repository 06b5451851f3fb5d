/**
 * A cluster instance's identity is its state directory (processor/coordination/instance-identity.ts):
 * restarted on the same disk it takes its own lease back at once; a second live process on the
 * directory is refused; a process whose lease a copy of its directory took (same identity, higher
 * epoch) is fenced, never commits again, and exits. Real processes, SIGKILL/SIGSTOP at moments
 * picked at random during a feed, exact output against the reference computation.
 *
 * The lease TTL is 10 minutes, longer than any of these tests may run: a takeover seen here can
 * only come from the identity, never from the lease expiring.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from '../integration/processor/fixture.ts';
import {
  assertEpochsNeverGoBack,
  assertExactOutput,
  changelogEpochs,
  requestEvents as events,
  staleEpochsAfterTakeover,
} from './ha-checks.ts';
import { slotCluster } from './slot-cluster.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const partitions = [0, 1];

/** Epochs in order as runs ("1×500, 2×30"), for a failure message. */
const runsOf = (epochs: readonly number[]) =>
  epochs
    .reduce<[number, number][]>((runs, epoch) => {
      const last = runs.at(-1);
      if (last && last[0] === epoch) last[1]++;
      else runs.push([epoch, 1]);
      return runs;
    }, [])
    .map(([epoch, count]) => `${epoch}×${count}`)
    .join(', ');

/** One slot, two partitions, a lease that does not expire within a test. */
async function setUp() {
  const fixture = await createAnalyticsFixture({
    partitions: partitions.length,
    slots: 1,
    cluster: { heartbeatInterval: 5000, heartbeatMaxRetry: 120 },
  });
  cleanups.push(() => fixture.cleanup());
  const cluster = slotCluster(fixture, 1, partitions.length);
  const first = await cluster.start(0, { name: 'a' });
  const active = await waitFor('the first instance to hold the lease', () => cluster.activeOf(0));
  expect(active.process).toBe(first);
  return { fixture, cluster, active };
}

/** Feeds in the background and waits a random moment after some input has flowed. */
async function feedUntilRandomMoment(fixture: AnalyticsFixture, seed: number) {
  const feeder = fixture.feed(events(seed, 12_000), 1500);
  cleanups.push(() => feeder.stop());
  await waitFor('input to flow', () => feeder.sent() > 3000, { timeoutMs: 60_000 });
  await sleep(Math.floor(Math.random() * 1500));
  return feeder;
}

describe('an instance is its state directory', () => {
  it('restarted on its own directory after SIGKILL, takes its own lease back at once: exact output', {
    timeout: 240_000,
  }, async () => {
    const { fixture, cluster, active } = await setUp();
    const epochs = fixture.watchEpochs();
    cleanups.push(() => epochs.stop());
    const feeder = await feedUntilRandomMoment(fixture, 41);
    active.process.signal('SIGKILL');
    await active.process.exited;
    cluster.forget(active.process);

    const restarted = await cluster.start(0, { name: 'a' });
    const next = await waitFor('the restarted instance to hold the lease', () => cluster.activeOf(0), {
      timeoutMs: 60_000,
    });
    expect(next.process).toBe(restarted);
    expect(next.epoch).toBe(active.epoch + 1);
    await waitFor('the new epoch to commit', () => epochs.firstCommitAbove(partitions, active.epoch), {
      timeoutMs: 60_000,
    });
    await feeder.done;
    await assertExactOutput(fixture);
    await assertEpochsNeverGoBack(fixture);
  });

  it('refuses a second live process on the same directory; the first goes on: exact output', {
    timeout: 240_000,
  }, async () => {
    const { fixture, cluster, active } = await setUp();
    const feeder = await feedUntilRandomMoment(fixture, 42);
    const refusal = await cluster.start(0, { name: 'a' }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/exited before it was ready/);
    expect(refusal).toMatch(new RegExp(`is in use by another processor \\(pid ${active.process.child.pid} `));
    expect((await cluster.activeOf(0))?.epoch).toBe(active.epoch);
    await feeder.done;
    await assertExactOutput(fixture);
    expect(active.process.output()).not.toMatch(/lease lost/);
  });

  it('fences a SIGSTOPped process whose copied directory took the lease; resumed, it exits: exact output', {
    timeout: 240_000,
  }, async () => {
    const { fixture, cluster, active } = await setUp();
    const epochs = fixture.watchEpochs();
    cleanups.push(() => epochs.stop());
    const feeder = await feedUntilRandomMoment(fixture, 43);
    active.process.signal('SIGSTOP');
    // a volume snapshot restored elsewhere while the original is frozen: the same identity twice
    cpSync(join(fixture.dir, 'state-a'), join(fixture.dir, 'state-b'), { recursive: true });
    const twin = await cluster.start(0, { name: 'b' });
    await waitFor(
      'the twin to commit at a higher epoch',
      () => epochs.firstCommitAbove(partitions, active.epoch),
      {
        timeoutMs: 60_000,
      },
    );
    expect((await fixture.leases.leases(fixture.appId))[0]).toMatchObject({
      epoch: active.epoch + 1,
      holderAddress: twin.address,
    });

    active.process.signal('SIGCONT');
    expect(await active.process.exited).toBe(1);
    expect(active.process.output()).toMatch(/took the lease of slot 0 at a higher epoch/);
    cluster.forget(active.process);
    await feeder.done;
    await assertExactOutput(fixture);
    // once the twin's epoch committed, the resumed original never did again
    for (const partition of partitions) {
      const epochsInOrder = (await changelogEpochs(fixture, partition)).map((record) => record.epoch);
      expect(
        staleEpochsAfterTakeover(epochsInOrder, active.epoch),
        `partition ${partition}: ${runsOf(epochsInOrder)}\n${cluster.logs(60)}`,
      ).toEqual([]);
    }
    expect((await cluster.activeOf(0))?.process).toBe(twin);
  });
});
