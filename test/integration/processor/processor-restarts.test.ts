import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { restoredByPartition } from './logs.ts';
import { expectedStats, sortStats } from './reference.ts';

const start = Date.UTC(2026, 0, 1, 12, 0, 0);
const events = (seed: number, count: number): RequestEvent[] =>
  takeRequests(
    { seed, tenants: 30, apis: 4, startTime: start, stepMs: 50, jitterMs: 8_000, lateShare: 0.005 },
    count,
  );

describe('processor restarts (exactly once)', () => {
  let fixture: AnalyticsFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  const assertExactOutput = async (f: AnalyticsFixture) => {
    const expected = expectedStats(await f.inputRecords());
    expect(expected.stats.length).toBeGreaterThan(100);
    expect(sortStats(await f.outputStats())).toEqual(expected.stats);
  };

  it('after a clean stop replays only the changelog tail (nothing), and the output stays exact', async () => {
    const f = await createAnalyticsFixture();
    fixture = f;
    const input = events(11, 8000);
    await f.produce(input.slice(0, 4000));
    const first = await f.startProcessor({ name: 'first' });
    await f.waitCaughtUp();
    expect(await first.stop()).toBe(0);

    await f.produce(input.slice(4000));
    const second = await f.startProcessor({ name: 'second' });
    await f.waitCaughtUp();
    const changelogSize = (await readAll(testKafka(), f.changelogTopic)).length;
    expect(changelogSize).toBeGreaterThan(100);
    const restored = restoredByPartition(second.output());
    expect([...restored.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect([...restored.values()].every((count) => count === 0)).toBe(true);
    await assertExactOutput(f);
  });

  it('rebuilds a deleted state directory from the whole changelog', async () => {
    const f = await createAnalyticsFixture();
    fixture = f;
    const input = events(12, 8000);
    await f.produce(input.slice(0, 4000));
    const first = await f.startProcessor({ name: 'first' });
    await f.waitCaughtUp();
    expect(await first.stop()).toBe(0);
    rmSync(f.stateDir, { recursive: true, force: true });

    const changelog = await readAll(testKafka(), f.changelogTopic);
    await f.produce(input.slice(4000));
    const second = await f.startProcessor({ name: 'second' });
    await f.waitCaughtUp();
    const restored = restoredByPartition(second.output());
    const total = [...restored.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(changelog.length);
    await assertExactOutput(f);
  });

  it('wipes a store whose changelog position is corrupt and restores it fully', async () => {
    const f = await createAnalyticsFixture();
    fixture = f;
    const input = events(13, 8000);
    await f.produce(input.slice(0, 4000));
    const first = await f.startProcessor({ name: 'first' });
    await f.waitCaughtUp();
    expect(await first.stop()).toBe(0);
    await corruptChangelogPosition(join(f.stateDir, f.appId, 'aggregates', '0'));

    const changelogOfPartition0 = (await readAll(testKafka(), f.changelogTopic)).filter(
      (r) => r.partition === 0,
    );
    const second = await f.startProcessor({ name: 'second' });
    await f.produce(input.slice(4000));
    await f.waitCaughtUp();
    const restored = restoredByPartition(second.output());
    expect(restored.get(0)).toBe(changelogOfPartition0.length);
    expect(restored.get(1)).toBe(0);
    expect(second.output()).toMatch(/no valid changelog position/);
    await assertExactOutput(f);
  });

  it('survives SIGKILL mid-stream, several times, with nothing lost or counted twice', async () => {
    const f = await createAnalyticsFixture();
    fixture = f;
    await f.produce(events(14, 30_000));
    for (let kill = 0; kill < 4; kill++) {
      const victim = await f.startProcessor({ name: `victim-${kill}`, args: ['--commit-interval-ms', '50'] });
      // let it commit some work, then kill it at an arbitrary point (mid-transaction included)
      await waitFor(
        'some progress',
        async () => (await readAll(testKafka(), f.changelogTopic)).length > kill * 500,
        {
          timeoutMs: 60_000,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
      victim.signal('SIGKILL');
      expect(await victim.exited).toBe('SIGKILL');
    }
    const survivor = await f.startProcessor({ name: 'survivor' });
    await f.waitCaughtUp(120_000);
    await assertExactOutput(f);
    expect(await survivor.stop()).toBe(0);
  });
});

/** Overwrites the store's changelog position with garbage (the processor must be stopped). */
async function corruptChangelogPosition(path: string): Promise<void> {
  const { RocksLevel } = createRequire(import.meta.url)('@nxtedition/rocksdb');
  const db = new RocksLevel(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const key = Buffer.concat([Buffer.of(0x00), Buffer.from('changelog-position')]);
  await db.put(key, Buffer.from('garbage!'));
  await db.close();
}
