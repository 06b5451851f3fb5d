import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../common/clock.ts';
import { silentLogger } from '../../../common/log.ts';
import { holdLease, partitionLeaseOf } from '../../../processor/coordination/lease.ts';
import {
  createLeaseCellBuffer,
  createLeaseCells,
  leaseCellCount,
  leaseFromCell,
} from '../../../processor/workers/lease-cells.ts';
import { createFakeClock } from '../../env/fake-clock.ts';
import { scriptedRepository } from '../../env/scripted-lease-repository.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function heldLease(clock = systemClock, settings = { heartbeatIntervalMs: 500, ttlMs: 2000 }) {
  const { state, repository } = scriptedRepository();
  const held = holdLease({
    repository,
    appId: 'app',
    slot: 0,
    holder: 'me',
    epoch: 3,
    acquiredAt: clock.now(),
    settings,
    logger: silentLogger(),
    clock,
  });
  return { state, held, lease: partitionLeaseOf(held) };
}

describe('lease cells: a worker thread answers canCommit as the main thread’s lease does', () => {
  it('follows a lease that is lost: the worker refuses commits at the moment the lease is lost', async () => {
    const clock = createFakeClock(1000);
    const { state, held, lease } = heldLease(clock);
    const buffer = createLeaseCellBuffer();
    const cells = createLeaseCells(buffer, clock);
    const mirror = leaseFromCell(buffer, cells.cellOf(lease), lease.epoch(), () => undefined);
    expect(mirror.epoch()).toBe(3);
    expect(mirror.canCommit()).toBe(true);
    state.answer = 'taken';
    await clock.advance(500); // the renewal answers: another instance holds it
    expect(held.state()).toBe('lost');
    expect(mirror.canCommit()).toBe(false);
  });

  it('refuses commits once the deadline passes without renewals, with no message from the main thread', async () => {
    const { state, held, lease } = heldLease(systemClock, { heartbeatIntervalMs: 50, ttlMs: 200 });
    const buffer = createLeaseCellBuffer();
    const mirror = leaseFromCell(
      buffer,
      createLeaseCells(buffer).cellOf(lease),
      lease.epoch(),
      () => undefined,
    );
    await sleep(120); // renewed twice: both sides allow commits
    expect([lease.canCommit(), mirror.canCommit()]).toEqual([true, true]);
    state.answer = 'unreachable'; // the deadline (TTL − heartbeat after the last renewal) passes
    await sleep(400);
    expect(held.state()).toBe('degraded');
    expect([lease.canCommit(), mirror.canCommit()]).toEqual([false, false]);
    state.answer = 'renewed'; // Postgres confirms the lease again
    await sleep(150);
    expect([lease.canCommit(), mirror.canCommit()]).toEqual([true, true]);
    await held.release();
    expect(mirror.canCommit()).toBe(false);
  });

  it('reuses the cell of a freed lease, which then reads as not committable; refuses leases without a deadline', async () => {
    const clock = createFakeClock(1000);
    const buffer = createLeaseCellBuffer();
    const cells = createLeaseCells(buffer, clock);
    const first = heldLease(clock).lease;
    const cell = cells.cellOf(first);
    expect(cells.cellOf(first)).toBe(cell);
    const mirror = leaseFromCell(buffer, cell, 3, () => undefined);
    cells.free(first);
    expect(mirror.canCommit()).toBe(false);
    expect(cells.cellOf(heldLease(clock).lease)).toBe(cell);
    expect(() => cells.cellOf({ epoch: () => 0, canCommit: () => true })).toThrow(/commit deadline/);
    for (let i = 1; i < leaseCellCount; i++) cells.cellOf(heldLease(clock).lease);
    expect(() => cells.cellOf(heldLease(clock).lease)).toThrow(/leases in use/);
  });

  it('stops a fenced worker task at once, and lets it commit again only after a renewal sent since', async () => {
    const { state, lease } = heldLease(systemClock, { heartbeatIntervalMs: 50, ttlMs: 400 });
    const buffer = createLeaseCellBuffer();
    const cells = createLeaseCells(buffer);
    const asked: number[] = [];
    const cell = cells.cellOf(lease);
    // the message to the main thread arrives later: the worker must not wait for it
    const mirror = leaseFromCell(buffer, cell, lease.epoch(), (from) => asked.push(from));
    await sleep(80);
    expect(mirror.canCommit()).toBe(true);
    state.answer = 'unreachable'; // renewals fail from now on (within the TTL the lease stays degraded)
    mirror.reconfirm!();
    expect([mirror.canCommit(), lease.canCommit()]).toEqual([false, true]);
    expect(asked).toEqual([cell]);
    cells.reconfirm(cell); // the main thread gets the message
    expect(lease.canCommit()).toBe(false);
    await sleep(120); // renewals sent, none confirmed: both still refuse
    expect([mirror.canCommit(), lease.canCommit()]).toEqual([false, false]);
    state.answer = 'renewed';
    await sleep(120);
    expect([mirror.canCommit(), lease.canCommit()]).toEqual([true, true]);
  });
});
