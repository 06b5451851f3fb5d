/**
 * Stream–table joins against a global table, on a real broker and processor processes: exact
 * inner and left join outputs with table updates before, between and after stream records,
 * tombstones, an undecodable table record, a row for a tenant that never appears, requests without a row, and the table
 * read again after the processor is SIGKILLed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../env/wait.ts';
import type { JoinedRequest } from './apps/join-app.ts';
import type { AnalyticsFixture } from './fixture.ts';
import {
  createJoinFixture,
  type PlanTableWriter,
  queryTable,
  requestAt,
  tableRows,
  tableUndecodable,
  waitTableApplied,
} from './tables.ts';

const partitions = 2;
const plan = (tier: string, updatedAt: number) => ({ plan: tier, requestQuota: 100, updatedAt });
const byTime = (a: JoinedRequest, b: JoinedRequest) => a.requestTimestamp - b.requestTimestamp;

describe('stream–table joins with a global table', () => {
  let fixture: AnalyticsFixture;
  let plans: PlanTableWriter;

  beforeAll(async () => {
    ({ fixture, plans } = await createJoinFixture('join-app.ts', partitions));
  });
  afterAll(async () => {
    await plans?.close();
    await fixture?.cleanup();
  });

  it('joins each request with the latest row, before and after table updates and a SIGKILL', async () => {
    // before the processor starts: it reads the whole table before processing anything
    await plans.write({
      a: plan('gold', 1),
      b: plan('silver', 1),
      c: plan('bronze', 1),
      ghost: plan('gold', 1), // a tenant that never sends a request
    });
    await fixture.produce([
      requestAt('a', 1000),
      requestAt('b', 1100),
      requestAt('c', 1200),
      requestAt('nobody', 1300),
    ]);
    const first = await fixture.startProcessor({ name: 'first' });
    await fixture.waitCaughtUp();

    // between stream records: an update, a tombstone, and garbage that leaves c's row as it was
    await plans.write({ a: plan('platinum', 2), b: null });
    await plans.writeGarbage('c');
    await waitTableApplied(first.address, 'TenantPlan', 6);
    await waitFor(
      'the garbage to be counted',
      async () => (await tableUndecodable(first.address, 'TenantPlan')) === 1,
    );
    await fixture.produce([
      requestAt('a', 2000),
      requestAt('b', 2100),
      requestAt('c', 2200),
      requestAt('nobody', 2300),
    ]);
    await fixture.waitCaughtUp();

    // after them: they change nothing already joined; b is back, c changes
    await plans.write({ b: plan('gold', 3), c: plan('silver', 3) });
    await waitTableApplied(first.address, 'TenantPlan', 8);
    first.signal('SIGKILL');
    await first.exited;

    // a new process reads the table again (nothing of it is kept on disk) before it processes
    const second = await fixture.startProcessor({ name: 'second' });
    await fixture.produce([
      requestAt('a', 3000),
      requestAt('b', 3100),
      requestAt('c', 3200),
      requestAt('nobody', 3300),
    ]);
    await fixture.waitCaughtUp();
    expect(await tableRows(second.address, 'TenantPlan')).toBe(4); // a, b, c, ghost
    // state queries: a global table answers its latest row from any instance
    const row = (key: string, at?: number) =>
      queryTable(second.address, fixture.appId, 'TenantPlan', key, at);
    expect((await row('a')).body).toMatchObject({
      kind: 'global',
      key: 'a',
      row: { tenant: 'a', ...plan('platinum', 2) },
    });
    expect((await row('b')).body.row).toEqual({ tenant: 'b', ...plan('gold', 3) });
    expect((await row('ghost')).body.row).toEqual({ tenant: 'ghost', ...plan('gold', 1) });
    expect(await row('nobody')).toMatchObject({ status: 404, body: { title: 'No row' } });
    // a global table holds no versions: asking for one is refused, not answered with the latest
    expect(await row('a', 1500)).toMatchObject({ status: 400, body: { title: 'Bad time' } });

    const joined: JoinedRequest[] = [
      { userTenantDomain: 'a', requestTimestamp: 1000, plan: 'gold' },
      { userTenantDomain: 'b', requestTimestamp: 1100, plan: 'silver' },
      { userTenantDomain: 'c', requestTimestamp: 1200, plan: 'bronze' },
      { userTenantDomain: 'a', requestTimestamp: 2000, plan: 'platinum' },
      { userTenantDomain: 'c', requestTimestamp: 2200, plan: 'bronze' },
      { userTenantDomain: 'a', requestTimestamp: 3000, plan: 'platinum' },
      { userTenantDomain: 'b', requestTimestamp: 3100, plan: 'gold' },
      { userTenantDomain: 'c', requestTimestamp: 3200, plan: 'silver' },
    ];
    const withoutRow = (userTenantDomain: string, requestTimestamp: number): JoinedRequest => ({
      userTenantDomain,
      requestTimestamp,
      plan: null,
    });
    const leftJoined = [
      ...joined,
      withoutRow('nobody', 1300),
      withoutRow('b', 2100),
      withoutRow('nobody', 2300),
      withoutRow('nobody', 3300),
    ];
    // exactly once: read_committed output of both processes, no duplicate from the killed one
    expect(((await fixture.readStream('Joined')) as JoinedRequest[]).sort(byTime)).toEqual(joined);
    expect(((await fixture.readStream('LeftJoined')) as JoinedRequest[]).sort(byTime)).toEqual(
      leftJoined.sort(byTime),
    );
    expect(await fixture.deadLetters()).toEqual([]);
  });
});
