import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.ts';
import { holdLease, type LeaseSettings } from '../../../processor/coordination/lease.ts';
import { createFakeClock } from '../../env/fake-clock.ts';
import { type Answer, scriptedRepository } from '../../env/scripted-lease-repository.ts';

const settings: LeaseSettings = { heartbeatIntervalMs: 500, ttlMs: 2000 };

function start(answer: Answer = 'renewed') {
  const clock = createFakeClock(1000);
  const { state, repository } = scriptedRepository(answer);
  const lease = holdLease({
    repository,
    appId: 'app',
    slot: 0,
    holder: 'me',
    epoch: 7,
    acquiredAt: clock.now(),
    settings,
    logger: silentLogger(),
    clock,
  });
  return { clock, state, lease };
}

describe('lease holder state machine', () => {
  it('renews every heartbeat from the moment it is held', async () => {
    const { clock, state, lease } = start();
    await clock.advance(5000);
    expect(state.renewals).toBe(10);
    expect(lease.state()).toBe('held');
    expect(lease.canCommit()).toBe(true);
  });

  it('degrades when renewals fail and stops commits exactly TTL - heartbeat after the last confirmed renewal was sent', async () => {
    const { clock, state, lease } = start();
    await clock.advance(1000); // renewals sent at 1500 and 2000 confirmed: confirmed as of t=2000
    state.answer = 'unreachable';
    await clock.advance(500);
    expect(lease.state()).toBe('degraded');
    expect(lease.canCommit()).toBe(true);
    await clock.advance(999); // t = 3499, 1499 ms after the last confirmed renewal was sent
    expect(lease.canCommit()).toBe(true);
    await clock.advance(1); // TTL 2000 - heartbeat 500: a commit begun now could still be running at the database's expiry
    expect(lease.canCommit()).toBe(false);
    expect(lease.state()).toBe('degraded'); // not lost: Postgres has not said so
  });

  it('goes back to held when Postgres confirms the lease again (a database restart)', async () => {
    const { clock, state, lease } = start('unreachable');
    await clock.advance(10_000);
    expect(lease.canCommit()).toBe(false);
    state.answer = 'renewed';
    await clock.advance(500);
    expect(lease.state()).toBe('held');
    expect(lease.canCommit()).toBe(true);
  });

  it('after a reconfirm (fenced in Kafka), commits wait for a renewal sent from then on; renewed at once', async () => {
    const { clock, state, lease } = start();
    await clock.advance(500);
    expect(state.renewals).toBe(1);
    lease.reconfirm();
    expect(lease.canCommit()).toBe(false);
    await clock.advance(0); // the renewal asked at once answers
    expect(state.renewals).toBe(2);
    expect(lease.canCommit()).toBe(true);
  });

  it('after a reconfirm, a refused renewal loses the lease (the new holder fenced us): no commit in between', async () => {
    const { clock, state, lease } = start();
    const lost: string[] = [];
    lease.onLost((reason) => lost.push(reason));
    state.answer = 'taken';
    lease.reconfirm();
    expect(lease.canCommit()).toBe(false);
    await clock.advance(0);
    expect(lease.state()).toBe('lost');
    expect(lost).toHaveLength(1);
    expect(lease.canCommit()).toBe(false);
  });

  it('is lost, once and for good, when another instance holds it; renewals stop', async () => {
    const { clock, state, lease } = start();
    const reasons: string[] = [];
    lease.onLost((reason) => reasons.push(reason));
    state.answer = 'taken';
    await clock.advance(500);
    expect(lease.state()).toBe('lost');
    expect(lease.canCommit()).toBe(false);
    expect(reasons).toEqual(['another instance holds the lease']);
    const renewals = state.renewals;
    state.answer = 'renewed';
    await clock.advance(5000);
    expect(state.renewals).toBe(renewals);
    expect(lease.state()).toBe('lost');
    await lease.release();
    expect(state.releases).toBe(0); // nothing to give up
  });

  it('releases once, stops renewing and never commits again', async () => {
    const { clock, state, lease } = start();
    await lease.release();
    await lease.release();
    expect(state.releases).toBe(1);
    expect(lease.state()).toBe('released');
    expect(lease.canCommit()).toBe(false);
    await clock.advance(5000);
    expect(state.renewals).toBe(0);
  });

  it('survives an event-loop stall shorter than the TTL: commits stay allowed after it', async () => {
    const { clock, lease } = start();
    await clock.advance(500);
    // nothing runs for 1.4 s (GC, a slow user function): time jumps without timers firing
    const stalledUntil = clock.now() + 1400;
    (clock as unknown as { now: () => number }).now = () => stalledUntil;
    expect(lease.canCommit()).toBe(true);
  });
});
