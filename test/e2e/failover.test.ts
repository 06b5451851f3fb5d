import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../schemas/request-generator.ts';
import { runSluice } from '../env/sluice-process.ts';
import { waitFor } from '../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from '../integration/processor/fixture.ts';
import { expectedStats, sortStats } from '../integration/processor/reference.ts';
import { type SlotCluster, slotCluster } from './slot-cluster.ts';

const slots = 2;
const partitions = 4;

describe('failover under load: 2 slots x (active + standby), SIGKILL of actives', () => {
  let fixture: AnalyticsFixture;
  let cluster: SlotCluster;

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions, slots });
    cluster = slotCluster(fixture, slots, partitions);
  });
  afterAll(async () => fixture?.cleanup());

  it('keeps the output exact (nothing lost, nothing twice) through repeated failovers', {
    timeout: 300_000,
  }, async () => {
    await cluster.deploy();

    const events = takeRequests(
      { seed: 99, tenants: 40, apis: 4, startTime: Date.UTC(2026, 0, 1), stepMs: 20, jitterMs: 8_000 },
      200_000, // more than the test sends: input flows at every kill, however slow the machine
    );
    const epochs = fixture.watchEpochs();
    const feeder = fixture.feed(events, 1500);
    const failovers: number[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        await waitFor('some input to flow', () => feeder.sent() > (round + 1) * 5000, { timeoutMs: 60_000 });
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 1000)));
        const slot = Math.floor(Math.random() * slots);
        const victim = (await cluster.activeOf(slot))!;
        const killedAt = Date.now();
        victim.process.signal('SIGKILL');
        await victim.process.exited;
        const takeover = await waitFor(
          `a new active of slot ${slot} to commit`,
          () => epochs.firstCommitAbove(cluster.partitionsOf(slot), victim.epoch),
          { timeoutMs: 60_000, intervalMs: 50 },
        ).catch((error) => {
          throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
        });
        failovers.push(takeover - killedAt);
        console.log(
          `failover ${round + 1}: slot ${slot}, kill → first commit of the new active ${takeover - killedAt} ms`,
        );
        cluster.forget(victim.process);
        await cluster.start(slot); // the killed one comes back as a standby
      }
    } finally {
      await feeder.stop();
      await epochs.stop();
    }
    await fixture.waitCaughtUp(120_000);
    const expected = expectedStats(await fixture.inputRecords());
    expect(expected.stats.length).toBeGreaterThan(1000);
    expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
    // the status command sees both slots held, a standby each, and no lag
    const status = await runSluice([
      'status',
      '--app',
      fixture.appId,
      '--config',
      fixture.configFile,
      '--json',
    ]);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.slots).toHaveLength(2);
    for (const slot of report.slots) {
      expect(slot.holder).toEqual(expect.any(String));
      expect(slot.epoch).toBeGreaterThan(0);
      expect(slot.standbys).toHaveLength(1);
      expect(slot.standbys[0].changelogLag).toEqual(expect.any(Number));
    }
    expect(report.totalLag).toBe(0);
    const text = await runSluice(['status', '--app', fixture.appId, '--config', fixture.configFile]);
    expect(text.stdout).toMatch(/slot +epoch +lease age +holder/);
    const sorted = [...failovers].sort((a, b) => a - b);
    console.log(`failover times (ms): ${failovers.join(', ')}; median ${sorted[1]}, worst ${sorted[2]}`);
  });
});
