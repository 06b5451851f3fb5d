import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { expectedStats } from './reference.ts';

describe('api-analytics at least once', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture();
  });
  afterAll(async () => fixture?.cleanup());

  it('loses nothing after SIGKILLs; duplicates and double counts are allowed and counted', async () => {
    const input = takeRequests(
      { seed: 21, tenants: 30, apis: 4, startTime: Date.UTC(2026, 0, 1), stepMs: 50, jitterMs: 8_000 },
      30_000,
    );
    await fixture.produce(input);
    // two worker threads whatever the machine's cores: each worker a group member, its own producer
    const args = ['--guarantee', 'at_least_once', '--commit-interval-ms', '200', '--workers', '2'];
    for (let kill = 0; kill < 3; kill++) {
      const victim = await fixture.startProcessor({ name: `victim-${kill}`, args });
      await waitFor(
        'some progress',
        async () => (await readAll(testKafka(), fixture.changelogTopic)).length > kill * 500,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
      victim.signal('SIGKILL');
      await victim.exited;
    }
    const survivor = await fixture.startProcessor({ name: 'survivor', args });
    await fixture.waitCaughtUp(120_000);

    const expected = expectedStats(await fixture.inputRecords()).stats;
    const output = await fixture.outputStats();
    const key = (s: { userTenantDomain: string; apiName: string; windowStart: number }) =>
      `${s.userTenantDomain}|${s.apiName}|${s.windowStart}`;
    const outputByKey = new Map<string, typeof output>();
    for (const stats of output) outputByKey.set(key(stats), [...(outputByKey.get(key(stats)) ?? []), stats]);

    const missing = expected.filter((stats) => !outputByKey.has(key(stats)));
    const undercounted = expected.filter((stats) =>
      (outputByKey.get(key(stats)) ?? []).every((emitted) => emitted.requests < stats.requests),
    );
    const duplicates = output.length - outputByKey.size;
    const overcounted = expected.filter((stats) =>
      (outputByKey.get(key(stats)) ?? []).some((emitted) => emitted.requests > stats.requests),
    );
    console.log(
      `at-least-once after 3 SIGKILLs: ${expected.length} windows expected, ${output.length} emitted, ` +
        `${duplicates} emitted twice, ${overcounted.length} counted some records twice`,
    );
    expect(missing).toEqual([]);
    expect(undercounted).toEqual([]);
    expect(await survivor.stop()).toBe(0);
  });
});
