import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRocksDbStore } from '../../../processor/state/rocksdb-store.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { runSluice } from '../../env/sluice-process.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from '../processor/fixture.ts';

async function contents(path: string): Promise<Map<string, string>> {
  const store = await openRocksDbStore(path);
  const entries = new Map<string, string>();
  for await (const [key, value] of store.range({})) entries.set(key.toString('hex'), value.toString('hex'));
  await store.close();
  return entries;
}

describe('sluice changelog dump and replay', () => {
  let fixture: AnalyticsFixture;
  const changelogArgs = () => ['--app', fixture.appId, '--config', fixture.configFile];

  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 2 });
    await fixture.produce(
      takeRequests(
        { seed: 5, tenants: 20, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 30, jitterMs: 5000 },
        6000,
      ),
    );
    const processor = await fixture.startProcessor();
    await fixture.waitCaughtUp();
    expect(await processor.stop()).toBe(0);
  });
  afterAll(async () => fixture?.cleanup());

  it('dumps every changelog record decoded, and filters by partition and key', async () => {
    const raw = await readAll(testKafka(), fixture.changelogTopic);
    const dump = await runSluice(['changelog', 'dump', ...changelogArgs(), '--json']);
    expect(dump.code).toBe(0);
    const entries = dump.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries).toHaveLength(raw.length);
    const window = entries.find((entry) => entry.kind === 'window' && entry.value !== null);
    expect(window).toMatchObject({
      key: [expect.any(String), expect.any(String)],
      windowStart: expect.any(Number),
    });
    expect(window.value.state.requests).toBeGreaterThan(0);
    expect(entries.some((entry) => entry.value === null)).toBe(true); // closed windows are tombstoned

    const tenant = window.key[0];
    const filtered = await runSluice([
      'changelog',
      'dump',
      ...changelogArgs(),
      '--partition',
      '1',
      '--key',
      tenant,
      '--json',
    ]);
    const lines = filtered.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(lines.every((entry) => entry.partition === 1 && JSON.stringify(entry.key).includes(tenant))).toBe(
      true,
    );
    const table = await runSluice(['changelog', 'dump', ...changelogArgs(), '--partition', '0']);
    expect(table.stdout.split('\n')[0]).toMatch(/part +offset +epoch +key/);
  });

  it('replays a store that equals the live one, and --verify finds an injected difference', async () => {
    const replayDir = join(fixture.dir, 'replayed');
    const replay = await runSluice([
      'changelog',
      'replay',
      ...changelogArgs(),
      '--state-dir',
      replayDir,
      '--json',
    ]);
    expect(replay.code).toBe(0);
    const results = JSON.parse(replay.stdout);
    expect(results.map((result: { partition: number }) => result.partition)).toEqual([0, 1]);
    for (const partition of [0, 1]) {
      const live = await contents(join(fixture.stateDir, fixture.appId, 'aggregates', String(partition)));
      const replayed = await contents(join(replayDir, fixture.appId, 'aggregates', String(partition)));
      expect(live.size).toBeGreaterThan(10);
      expect(replayed).toEqual(live);
    }

    const verify = ['changelog', 'replay', ...changelogArgs(), '--state-dir', fixture.stateDir, '--verify'];
    const clean = await runSluice(verify);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/partition 0: matches the changelog/);

    // change one aggregate in the live store behind the changelog's back
    const store = await openRocksDbStore(join(fixture.stateDir, fixture.appId, 'aggregates', '1'));
    let victim: Buffer | undefined;
    for await (const [key] of store.range({ gte: Buffer.of(0x01), lt: Buffer.of(0x02) })) {
      victim = key;
      break;
    }
    await store.write(
      { puts: [[victim!, Buffer.from('{"state":{"requests":999999}}')]], deletes: [] },
      (await store.changelogPosition())!,
    );
    await store.close();
    const dirty = await runSluice([...verify, '--json']);
    expect(dirty.code).toBe(1);
    const report = JSON.parse(dirty.stdout);
    expect(report[0].differences).toEqual([]);
    expect(report[1].differences).toEqual([
      expect.objectContaining({ kind: 'different', actual: { state: { requests: 999999 } } }),
    ]);
  });

  it('refuses to replay into a store that a running processor holds', async () => {
    const processor = await fixture.startProcessor({ name: 'holder' });
    const refused = await runSluice([
      'changelog',
      'replay',
      ...changelogArgs(),
      '--state-dir',
      fixture.stateDir,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is open in another process/);
    expect(await processor.stop()).toBe(0);
  });
});
