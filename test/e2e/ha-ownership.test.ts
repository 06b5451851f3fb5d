/**
 * The lease as the only owner of a slot's partitions, under the faults that used to split
 * ownership between the lease and the consumer group: simultaneous kills, a slot left without
 * any instance (borrowed by another slot's active, then handed back), a standby killed right
 * after it started writing its store, and an active killed right after a broker restart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateKafka } from '../env/private-kafka.ts';
import { runSluice } from '../env/sluice-process.ts';
import { waitFor } from '../env/wait.ts';
import { createAnalyticsFixture } from '../integration/processor/fixture.ts';
import { assertEpochsNeverGoBack, assertExactOutput, requestEvents } from './ha-checks.ts';
import { slotCluster } from './slot-cluster.ts';

const events = requestEvents;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the lease alone owns a slot', () => {
  it('recovers both slots when both actives are SIGKILLed at the same moment', {
    timeout: 240_000,
  }, async () => {
    const fixture = await createAnalyticsFixture({ partitions: 4, slots: 2 });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 2, 4);
    await cluster.deploy();
    const epochs = fixture.watchEpochs();
    cleanups.push(() => epochs.stop());
    const feeder = fixture.feed(events(41, 24_000), 1500);
    cleanups.push(() => feeder.stop());
    await waitFor('input to flow', () => feeder.sent() > 6000, { timeoutMs: 60_000 });

    const victims = [(await cluster.activeOf(0))!, (await cluster.activeOf(1))!];
    for (const victim of victims) victim.process.signal('SIGKILL');
    for (const [slot, victim] of victims.entries()) {
      await waitFor(
        `a new active of slot ${slot} to commit`,
        () => epochs.firstCommitAbove(cluster.partitionsOf(slot), victim.epoch),
        {
          timeoutMs: 60_000,
        },
      ).catch((error) => {
        throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
      });
    }
    await feeder.done;
    await assertExactOutput(fixture);
    await assertEpochsNeverGoBack(fixture);
  });

  it('lets another slot borrow a slot left without any instance, and hands it back when one returns', {
    timeout: 300_000,
  }, async () => {
    const fixture = await createAnalyticsFixture({ partitions: 4, slots: 2 });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 2, 4);
    await Promise.all([cluster.start(0), cluster.start(1)]);
    await cluster.waitForActives();
    await cluster.start(1);
    const epochs = fixture.watchEpochs();
    cleanups.push(() => epochs.stop());
    const feeder = fixture.feed(events(42, 30_000), 1500);
    cleanups.push(() => feeder.stop());
    await waitFor('input to flow', () => feeder.sent() > 5000, { timeoutMs: 60_000 });

    // kill slot 1's active; its standby takes over; kill that one too, within 1 s of its takeover
    const first = (await cluster.activeOf(1))!;
    first.process.signal('SIGKILL');
    const second = await waitFor(
      "slot 1's standby to take the lease",
      async () => {
        const active = await cluster.activeOf(1);
        return active && active.epoch > first.epoch ? active : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await sleep(Math.floor(Math.random() * 1000));
    second.process.signal('SIGKILL');
    await second.process.exited;

    // slot 1 has no live instance now: slot 0's active borrows it and its output goes on
    const borrower = (await cluster.activeOf(0))!;
    const borrowed = await waitFor(
      "slot 0's active to borrow slot 1",
      async () => {
        const lease = (await fixture.leases.leases(fixture.appId)).find((entry) => entry.slot === 1);
        return lease && lease.holderAddress === borrower.process.address ? lease : undefined;
      },
      { timeoutMs: 60_000 },
    ).catch((error) => {
      throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
    });
    await waitFor(
      'the borrower to commit for slot 1',
      () => epochs.firstCommitAbove(cluster.partitionsOf(1), second.epoch),
      { timeoutMs: 60_000 },
    );
    expect(borrower.process.output()).toMatch(/borrowing its lease/);
    const status = await runSluice([
      'status',
      '--app',
      fixture.appId,
      '--config',
      fixture.configFile,
      '--json',
    ]);
    const report = JSON.parse(status.stdout);
    expect(report.slots[1]).toMatchObject({ borrowedBySlot: 0, epoch: borrowed.epoch });

    // an instance of slot 1 returns: the borrower commits what it has and hands the slot back
    const returning = await cluster.start(1);
    const handedBack = await waitFor(
      'slot 1 to be held by its own instance again',
      async () => {
        const lease = (await fixture.leases.leases(fixture.appId)).find((entry) => entry.slot === 1);
        return lease && lease.holderAddress === returning.address ? lease : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(handedBack.epoch).toBeGreaterThan(borrowed.epoch);
    expect(borrower.process.output()).toMatch(/borrowed slot handed back/);
    await feeder.done;
    await assertExactOutput(fixture);
    await assertEpochsNeverGoBack(fixture);
  });

  it('takes over from a standby that was SIGKILLed right after it began writing its store, and restarted on it', {
    timeout: 240_000,
  }, async () => {
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1 });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    await cluster.deploy(0);
    const feeder = fixture.feed(events(43, 20_000), 1500);
    cleanups.push(() => feeder.stop());
    await waitFor('input to flow', () => feeder.sent() > 4000, { timeoutMs: 60_000 });

    const standby = await cluster.start(0, { name: 'partial-standby' });
    await waitFor('the standby to follow the changelog', () =>
      /standby following the changelog/.test(standby.output()),
    );
    await sleep(Math.floor(Math.random() * 300));
    standby.signal('SIGKILL');
    await standby.exited;
    cluster.forget(standby);
    const restarted = await cluster.start(0, { name: 'partial-standby' }); // the same state directory
    await waitFor('the restarted standby to follow the changelog', () =>
      /standby following the changelog/.test(restarted.output()),
    );

    const active = (await cluster.activeOf(0))!;
    active.process.signal('SIGKILL');
    await waitFor(
      'the restarted standby to take over',
      async () => (await cluster.activeOf(0))?.process === restarted,
      { timeoutMs: 30_000 },
    );
    await feeder.done;
    await assertExactOutput(fixture);
  });

  it('keeps one owner when the active is SIGKILLed right after a broker restart; no process crashes', {
    timeout: 300_000,
  }, async () => {
    const kafka = await startPrivateKafka();
    cleanups.push(() => kafka.destroy());
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1, kafkaBrokers: kafka.brokers });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    await fixture.produce(events(44, 20_000));
    const standbys = (await cluster.deploy(2)).standbys[0]!;
    await waitFor(
      'processing to be under way',
      async () => {
        const committed = await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic);
        return committed.some((entry) => BigInt(entry.offset) > 2000n);
      },
      { timeoutMs: 60_000 },
    );

    const active = (await cluster.activeOf(0))!;
    await kafka.service.stop();
    await kafka.service.start(() => undefined);
    await sleep(Math.floor(Math.random() * 500));
    active.process.signal('SIGKILL');
    await fixture.produce(events(45, 4000));
    await assertExactOutput(fixture);
    await assertEpochsNeverGoBack(fixture, kafka.brokers);
    for (const standby of standbys) {
      expect(standby.child.exitCode, standby.output().slice(-2000)).toBeNull();
      expect(standby.child.signalCode).toBeNull();
    }
  });
});
