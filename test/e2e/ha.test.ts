import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresService } from '../../dev/postgres-service.ts';
import { startPrivateKafka } from '../env/private-kafka.ts';
import { freePort } from '../env/sluice-process.ts';
import { waitFor } from '../env/wait.ts';
import { createAnalyticsFixture } from '../integration/processor/fixture.ts';
import {
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

describe('high availability', () => {
  it('keeps a stale active (SIGSTOP past its lease) from committing; it steps down by itself', {
    timeout: 240_000,
  }, async () => {
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1 });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    await cluster.deploy();
    const epochs = fixture.watchEpochs();
    cleanups.push(() => epochs.stop());
    const feeder = fixture.feed(events(31, 24_000), 1500);
    cleanups.push(() => feeder.stop());

    await waitFor('input to flow', () => feeder.sent() > 5000, { timeoutMs: 60_000 });
    const stale = (await cluster.activeOf(0))!;
    stale.process.signal('SIGSTOP');
    await waitFor('the standby to take over and commit', () => epochs.firstCommitAbove([0, 1], stale.epoch), {
      timeoutMs: 60_000,
    });
    stale.process.signal('SIGCONT');
    await waitFor('the stale active to step down', () => /"to":"standby"/.test(stale.process.output()), {
      timeoutMs: 30_000,
    });
    expect(stale.process.output()).toMatch(/lease lost/);
    await feeder.done;
    await assertExactOutput(fixture);

    // in every changelog partition, once the new epoch has committed, the old one never does again
    for (const partition of [0, 1]) {
      const epochsInOrder = (await changelogEpochs(fixture, partition)).map((record) => record.epoch);
      expect(staleEpochsAfterTakeover(epochsInOrder, stale.epoch)).toEqual([]);
    }
  });

  it('treats a short freeze of the active (GC, a slow user function) as harmless: no failover', {
    timeout: 240_000,
  }, async () => {
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1 });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    const standby = (await cluster.deploy()).standbys[0]![0]!;
    const feeder = fixture.feed(events(37, 12_000), 1500);
    cleanups.push(() => feeder.stop());
    const active = (await cluster.activeOf(0))!;
    // frozen for 0.7 s, well below TTL - heartbeatInterval (1.5 s with the defaults), three times
    for (let freeze = 0; freeze < 3; freeze++) {
      await waitFor('input to flow', () => feeder.sent() > (freeze + 1) * 2500, { timeoutMs: 60_000 });
      await sleep(Math.floor(Math.random() * 500));
      active.process.signal('SIGSTOP');
      await sleep(700);
      active.process.signal('SIGCONT');
    }
    await feeder.done;
    await assertExactOutput(fixture);
    expect((await cluster.activeOf(0))?.epoch).toBe(active.epoch);
    expect(active.process.output()).not.toMatch(/lease lost/);
    expect(standby.output()).not.toMatch(/"to":"taking-over"/);
  });

  it('hands over at once on SIGTERM of the active, without waiting for the lease to expire', {
    timeout: 180_000,
  }, async () => {
    // a 60 s lease: a takeover within the wait below can only come from the release
    const fixture = await createAnalyticsFixture({
      partitions: 2,
      slots: 1,
      cluster: { heartbeatInterval: 2000, heartbeatMaxRetry: 30 },
    });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    await cluster.deploy();
    await fixture.produce(events(32, 6000));
    await fixture.waitCaughtUp();
    const old = (await cluster.activeOf(0))!;
    expect(await old.process.stop()).toBe(0);
    const next = await waitFor(
      'the standby to take the released lease',
      async () => {
        const active = await cluster.activeOf(0);
        return active && active.epoch > old.epoch ? active : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(next.process).not.toBe(old.process);
    await fixture.produce(events(33, 6000));
    await assertExactOutput(fixture);
  });

  it('pauses commits while Postgres is stopped for longer than the TTL: no failover, no lease change', {
    timeout: 240_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-private-pg-'));
    const postgres = createPostgresService({ port: await freePort(), dir });
    await postgres.start(() => undefined);
    cleanups.push(async () => {
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1, databaseUrl: postgres.endpoint });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    const standby = (await cluster.deploy()).standbys[0]![0]!;
    const active = (await cluster.activeOf(0))!;
    await fixture.produce(events(34, 6000));
    await fixture.waitCaughtUp();

    await postgres.stop();
    // the active's lease expires by its own clock a TTL (2 s) after its last confirmed renewal:
    // from then on it must not commit, since it cannot know that nobody else took the lease
    await waitFor("the lease to expire by the active's clock", () =>
      /lease expired by our clock/.test(active.process.output()),
    );
    await fixture.produce(events(35, 6000));
    await sleep(3000); // long enough to process 6 000 events many times over: nothing is committed
    expect(await fixture.caughtUp()).toBe(false);
    await postgres.start(() => undefined);

    // the database gives holders a TTL of grace after it starts: the active renews first
    const renewed = await waitFor(
      'the active to renew again',
      async () => {
        const lease = (await fixture.leases.leases(fixture.appId).catch(() => []))[0];
        return lease && lease.ageMs !== null && lease.ageMs < 1500 ? lease : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(renewed.epoch).toBe(active.epoch); // no failover happened
    expect(renewed.holderAddress).toBe(active.process.address);
    await fixture.waitCaughtUp();
    expect(active.process.output()).not.toMatch(/lease lost/);
    expect(standby.output()).not.toMatch(/"to":"taking-over"/);
    await assertExactOutput(fixture);
  });

  it('resumes after a broker restart with exact output', { timeout: 240_000 }, async () => {
    const kafka = await startPrivateKafka();
    cleanups.push(() => kafka.destroy());
    const fixture = await createAnalyticsFixture({ partitions: 2, slots: 1, kafkaBrokers: kafka.brokers });
    cleanups.push(() => fixture.cleanup());
    const cluster = slotCluster(fixture, 1, 2);
    await fixture.produce(events(36, 30_000));
    await cluster.deploy();
    await waitFor(
      'processing to be under way',
      async () => {
        const committed = await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic);
        return committed.some((entry) => BigInt(entry.offset) > 3000n);
      },
      { timeoutMs: 60_000 },
    );

    await kafka.service.stop();
    await kafka.service.start(() => undefined);
    await assertExactOutput(fixture);
  });
});
