/**
 * Stream–table joins against a partitioned table on a real broker: each request joins its
 * tenant's row as of the request's event time (versions by record timestamp, a tombstone ends a
 * row), also for requests that arrive out of event-time order; after a SIGKILL the task's table
 * store continues from the table offset it had (no rebuild) and picks up what was written meanwhile.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runSluice } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import type { JoinedRequest } from './apps/join-app.ts';
import type { AnalyticsFixture } from './fixture.ts';
import { createJoinFixture, type PlanTableWriter, queryTable, requestAt } from './tables.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');

const partitions = 2;
const plan = (tier: string) => ({ plan: tier, requestQuota: 100, updatedAt: 0 });
const joined = (userTenantDomain: string, requestTimestamp: number, tier: string | null): JoinedRequest => ({
  userTenantDomain,
  requestTimestamp,
  plan: tier,
});
const byTenantAndTime = (a: JoinedRequest, b: JoinedRequest) =>
  a.userTenantDomain.localeCompare(b.userTenantDomain) || a.requestTimestamp - b.requestTimestamp;

describe('stream–table joins with a partitioned table (rows as of event time)', () => {
  let fixture: AnalyticsFixture;
  let plans: PlanTableWriter;

  beforeAll(async () => {
    ({ fixture, plans } = await createJoinFixture('partitioned-join-app.ts', partitions));
  });
  afterAll(async () => {
    await plans?.close();
    await fixture?.cleanup();
  });

  it('joins the version valid at each request time, and restores the table store after SIGKILL', async () => {
    await plans.write({ a: plan('gold'), b: plan('silver'), ghost: plan('gold') }, 1000);
    await plans.write({ a: plan('platinum') }, 2000);
    await plans.write({ b: null }, 3000);
    await fixture.produce([
      requestAt('a', 500), // before a's first version: no row
      requestAt('a', 1500),
      requestAt('a', 2500),
      requestAt('b', 2900),
      requestAt('b', 3100), // after b's tombstone
      requestAt('nobody', 1000),
    ]);
    const first = await fixture.startProcessor({ name: 'first' });
    await fixture.waitCaughtUp();
    first.signal('SIGKILL');
    await first.exited;

    // written while no processor runs; the new one continues its table stores from where they were
    await plans.write({ a: plan('bronze') }, 4000);
    const second = await fixture.startProcessor({ name: 'second' });
    await fixture.produce([requestAt('a', 4500), requestAt('a', 1800)]); // the second out of event-time order
    await fixture.waitCaughtUp();
    expect(second.output()).toMatch(/"from":"[1-9]\d*".*partitioned table restored from its topic/);

    const inner = [
      joined('a', 1500, 'gold'),
      joined('a', 1800, 'gold'),
      joined('a', 2500, 'platinum'),
      joined('a', 4500, 'bronze'),
      joined('b', 2900, 'silver'),
    ];
    const left = [...inner, joined('a', 500, null), joined('b', 3100, null), joined('nobody', 1000, null)];
    expect(((await fixture.readStream('Joined')) as JoinedRequest[]).sort(byTenantAndTime)).toEqual(inner);
    expect(((await fixture.readStream('LeftJoined')) as JoinedRequest[]).sort(byTenantAndTime)).toEqual(
      left.sort(byTenantAndTime),
    );
    expect(await fixture.deadLetters()).toEqual([]);

    // state queries: the row as of a time (the same versions the joins read), or the latest
    const row = (key: string, at?: number | string) =>
      queryTable(second.address, fixture.appId, 'TenantPlan', key, at);
    expect((await row('a')).body).toMatchObject({
      kind: 'partitioned',
      key: 'a',
      row: { tenant: 'a', ...plan('bronze') },
    });
    expect((await row('a', 1500)).body.row).toEqual({ tenant: 'a', ...plan('gold') });
    expect((await row('a', 2000)).body.row).toEqual({ tenant: 'a', ...plan('platinum') });
    expect((await row('a', new Date(2999).toISOString())).body.row).toEqual({
      tenant: 'a',
      ...plan('platinum'),
    });
    expect((await row('b', 2900)).body.row).toEqual({ tenant: 'b', ...plan('silver') });
    expect((await row('ghost')).body.row).toEqual({ tenant: 'ghost', ...plan('gold') });
    expect(await row('a', 500)).toMatchObject({ status: 404, body: { title: 'No row' } });
    expect(await row('b')).toMatchObject({ status: 404, body: { title: 'No row' } }); // the tombstone
    expect(await row('nobody')).toMatchObject({ status: 404, body: { title: 'No row' } });
    expect(await row('a', 'yesterday-ish')).toMatchObject({ status: 400, body: { title: 'Bad time' } });
    expect(await queryTable(second.address, fixture.appId, 'Nope', 'a')).toMatchObject({
      status: 404,
      body: { title: 'Unknown table' },
    });
  });
});

describe('a partitioned table that is not co-partitioned with the stream', () => {
  let fixture: AnalyticsFixture;
  let plans: PlanTableWriter;
  afterAll(async () => {
    await plans?.close();
    await fixture?.cleanup();
  });

  it('stops the processor at start, saying what to change', async () => {
    ({ fixture, plans } = await createJoinFixture('partitioned-join-app.ts', 2, { tablePartitions: 3 }));
    const tableTopic = `tenantplan-${fixture.appId}`;
    const run = await runSluice([
      'processor',
      '--app',
      join(repo, 'test', 'integration', 'processor', 'apps', 'partitioned-join-app.ts'),
      '--app-id',
      fixture.appId,
      '--config',
      fixture.configFile,
      '--port',
      String(await freePort()),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(
      `the partitioned table TenantPlan (topic ${tableTopic}) has 3 partitions but the source requests-${fixture.appId} has 2: they must be co-partitioned (same key, same partition count). Give ${tableTopic} 2 partitions, or join it as a global table.`,
    );
  });
});

describe('a partitioned table with a standby (cluster mode, one slot)', () => {
  let fixture: AnalyticsFixture;
  let plans: PlanTableWriter;
  beforeAll(async () => {
    ({ fixture, plans } = await createJoinFixture('partitioned-join-app.ts', partitions, { slots: 1 }));
  });
  afterAll(async () => {
    await plans?.close();
    await fixture?.cleanup();
  });

  it('follows the table in the standby, which joins as of event time after taking over', async () => {
    await plans.write({ a: plan('gold') }, 1000);
    const active = await fixture.startProcessor({ name: 'active', slot: 0 });
    const standby = await fixture.startProcessor({ name: 'standby', slot: 0 });
    await waitFor('the standby to follow the table', () =>
      /partitioned table restored from its topic/.test(standby.output()),
    );
    await fixture.produce([requestAt('a', 1500)]);
    await fixture.waitCaughtUp();
    // a version the standby follows while it is a standby
    await plans.write({ a: plan('platinum') }, 2000);
    active.signal('SIGKILL');
    await active.exited;
    await fixture.produce([requestAt('a', 2500), requestAt('a', 1800)]);
    await fixture.waitCaughtUp();
    expect(standby.output()).toMatch(/takeover step: first commit/);
    const inner = [joined('a', 1500, 'gold'), joined('a', 1800, 'gold'), joined('a', 2500, 'platinum')];
    expect(((await fixture.readStream('Joined')) as JoinedRequest[]).sort(byTenantAndTime)).toEqual(inner);
  });
});
