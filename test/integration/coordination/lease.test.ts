import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.ts';
import { createPostgresService } from '../../../dev/postgres-service.ts';
import { holdLease } from '../../../processor/coordination/lease.ts';
import {
  createLeaseRepository,
  type LeaseRepository,
} from '../../../processor/coordination/lease-repository.ts';
import { migrate } from '../../../processor/coordination/migrator.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';
import { freePort } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';

describe('leases in PostgreSQL', () => {
  const pool = new pg.Pool({ connectionString: testServices().databaseUrl, max: 20 });
  const schema = uniqueName('leases').replaceAll('-', '_');
  let repository: LeaseRepository;

  beforeAll(async () => {
    await migrate(pool, schema);
    repository = createLeaseRepository(pool, schema);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await pool.end();
  });

  const app = () => uniqueName('app');

  it('lets exactly one of many concurrent acquirers win', async () => {
    const id = app();
    await repository.ensureSlots(id, 2);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => repository.acquire(id, 0, `instance-${i}`, `http://i${i}`, 5000)),
    );
    expect(results.filter((epoch) => epoch !== undefined)).toEqual([1]);
    const [slot0, slot1] = await repository.leases(id);
    expect(slot0).toMatchObject({ slot: 0, epoch: 1 });
    expect(slot0!.holder).toMatch(/^instance-\d+$/);
    expect(slot1).toMatchObject({ slot: 1, holder: null, epoch: 0 });
  });

  it('expires a lease by the database clock and gives the next holder a higher epoch', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    expect(await repository.acquire(id, 0, 'a', 'http://a', 400)).toBe(1);
    expect(await repository.acquire(id, 0, 'b', 'http://b', 400)).toBeUndefined();
    const epoch = await waitFor(
      'the lease to expire',
      () => repository.acquire(id, 0, 'b', 'http://b', 400),
      {
        timeoutMs: 5000,
        intervalMs: 50,
      },
    );
    expect(epoch).toBe(2);
  });

  it('tells a refused acquirer when the lease may be taken, and that moment is right', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    expect(await repository.acquireOrWait(id, 0, 'a', 'http://a', 1500)).toEqual({ epoch: 1 });
    const refused = await repository.acquireOrWait(id, 0, 'b', 'http://b', 1500);
    if (!('expiresInMs' in refused)) throw new Error(`b took a held lease: ${JSON.stringify(refused)}`);
    expect(refused.expiresInMs).toBeGreaterThan(0);
    expect(refused.expiresInMs).toBeLessThanOrEqual(1500);
    await repository.renew(id, 0, 'a', 1, 1000);
    const afterRenewal = await repository.acquireOrWait(id, 0, 'b', 'http://b', 1500);
    if (!('expiresInMs' in afterRenewal)) throw new Error('b took a lease renewed a moment ago');
    expect(afterRenewal.expiresInMs).toBeGreaterThan(1000);
    await sleep(afterRenewal.expiresInMs + 5);
    expect(await repository.acquireOrWait(id, 0, 'b', 'http://b', 1500)).toEqual({ epoch: 2 });
  });

  it('keeps epochs increasing across releases and takeovers, and refuses renewal after a loss', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    const first = await repository.acquire(id, 0, 'a', 'http://a', 10_000);
    expect(await repository.renew(id, 0, 'a', first!, 1000)).toBe(first);
    expect(await repository.release(id, 0, 'a', first!)).toBe(true);
    const second = await repository.acquire(id, 0, 'b', 'http://b', 10_000);
    expect(second).toBeGreaterThan(first!);
    // a lost holder cannot renew, even with its old epoch
    expect(await repository.renew(id, 0, 'a', first!, 1000)).toBeUndefined();
    expect(await repository.release(id, 0, 'a', first!)).toBe(false);
    await pool.query(`UPDATE ${schema}.leases SET renewed_at = now() - interval '1 hour' WHERE app_id = $1`, [
      id,
    ]);
    // a TTL well below the database's uptime: its start gives holders a TTL of grace
    const third = await repository.acquire(id, 0, 'a', 'http://a', 50);
    expect(third).toBeGreaterThan(second!);
    expect(await repository.renew(id, 0, 'b', second!, 1000)).toBeUndefined();
  });

  it('lets an instance whose acquisition answer was lost take its own lease again, and nobody else', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    expect(await repository.acquire(id, 0, 'a', 'http://a', 60_000)).toBe(1); // say the answer never arrived
    expect(await repository.acquire(id, 0, 'b', 'http://b', 60_000)).toBeUndefined();
    expect(await repository.acquire(id, 0, 'a', 'http://a', 60_000)).toBe(2);
    expect(await repository.renew(id, 0, 'a', 1, 1000)).toBeUndefined(); // the lost epoch is gone
    expect(await repository.renew(id, 0, 'a', 2, 1000)).toBe(2);
  });

  it('stops commits a TTL after the last confirmed renewal while Postgres does not answer, and resumes when it does', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    const acquiredAt = performance.now();
    const epoch = (await repository.acquire(id, 0, 'a', 'http://a', 10_000))!;
    const lease = holdLease({
      repository,
      appId: id,
      slot: 0,
      holder: 'a',
      epoch,
      acquiredAt,
      settings: { heartbeatIntervalMs: 100, ttlMs: 600 },
      logger: silentLogger(),
    });
    let lost = false;
    lease.onLost(() => {
      lost = true;
    });
    // hold the row locked: renewals block until their query timeout
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM ${schema}.leases WHERE app_id = $1 FOR UPDATE`, [id]);
    try {
      await waitFor('the lease to degrade', () => lease.state() === 'degraded', { timeoutMs: 5000 });
      await waitFor('commits to stop', () => !lease.canCommit(), { timeoutMs: 5000 });
      expect(lease.state()).toBe('degraded'); // not lost: nobody else holds it
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    await waitFor('the lease to be confirmed again', () => lease.state() === 'held', { timeoutMs: 5000 });
    expect(lease.canCommit()).toBe(true);
    expect(lost).toBe(false);
    await lease.release();
    expect(lease.state()).toBe('released');
  });

  it('never takes "Postgres refuses connections" for "nobody can take the lease": commits stop after the TTL', async () => {
    const down = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    const real = createLeaseRepository(down, schema);
    let refused = 0;
    const unreachable: LeaseRepository = {
      ...real,
      renew: (...args) =>
        real.renew(...args).catch((error) => {
          refused++;
          throw error;
        }),
    };
    const lease = holdLease({
      repository: unreachable,
      appId: app(),
      slot: 0,
      holder: 'a',
      epoch: 1,
      acquiredAt: performance.now(),
      settings: { heartbeatIntervalMs: 50, ttlMs: 200 },
      logger: silentLogger(),
    });
    try {
      await waitFor('eight refused renewals', () => refused >= 8, { timeoutMs: 5000, intervalMs: 20 });
      expect(lease.state()).toBe('degraded');
      expect(lease.canCommit()).toBe(false);
    } finally {
      await lease.release();
      await down.end();
    }
  });

  it('lets another slot borrow a lease only when it was held before, free for the delay, and no member of the slot is alive', async () => {
    const id = app();
    await repository.ensureSlots(id, 2);
    await pool.query(
      `UPDATE ${schema}.leases SET released_at = now() - interval '1 hour' WHERE app_id = $1`,
      [id],
    );
    // slot 1 never had an owner: it is not deployed yet, not failed, and is never borrowed
    expect(await repository.borrow(id, 1, 'x', 'http://x', 300, 100)).toBeUndefined();
    const own = await repository.acquire(id, 1, 'member-1', 'http://m', 300);
    expect(await repository.release(id, 1, 'member-1', own!)).toBe(true);
    // just released: not borrowable before the delay
    expect(await repository.borrow(id, 1, 'x', 'http://x', 300, 60_000)).toBeUndefined();
    // a live member of slot 1 keeps others from borrowing it, whatever the delay
    await repository.upsertMember(id, {
      instanceId: 'member-1',
      slot: 1,
      role: 'standby',
      address: null,
      changelogLag: null,
      kafkaOk: true,
    });
    await pool.query(
      `UPDATE ${schema}.leases SET released_at = now() - interval '1 hour' WHERE app_id = $1`,
      [id],
    );
    expect(await repository.borrow(id, 1, 'x', 'http://x', 300, 100)).toBeUndefined();
    // the member's heartbeat goes stale (older than the TTL): slot 1 may be borrowed
    await pool.query(`UPDATE ${schema}.members SET seen_at = now() - interval '1 minute' WHERE app_id = $1`, [
      id,
    ]);
    const epoch = await repository.borrow(id, 1, 'x', 'http://x', 300, 100);
    expect(epoch).toBe(own! + 1);
    // a borrowed lease is renewed and released like any other; the release notifies and stamps released_at
    expect(await repository.renew(id, 1, 'x', epoch!, 1000)).toBe(epoch);
    expect(await repository.release(id, 1, 'x', epoch!)).toBe(true);
    expect(await repository.borrow(id, 1, 'y', 'http://y', 300, 60_000)).toBeUndefined();
    // an instance of the slot itself takes a released lease at once
    expect(await repository.acquire(id, 1, 'member-1', 'http://m', 300)).toBe(epoch! + 1);
  });

  it('gives holders a TTL of grace after the database (re)starts before their lease can be taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lease-pg-'));
    const postgres = createPostgresService({ port: await freePort(), dir });
    await postgres.start(() => undefined);
    const fresh = new pg.Pool({ connectionString: postgres.endpoint, max: 2 });
    fresh.on('error', () => undefined); // a client still closing when the server stops below
    try {
      await migrate(fresh, 'sluice');
      const leases = createLeaseRepository(fresh, 'sluice');
      await leases.ensureSlots('grace', 1);
      expect(await leases.acquire('grace', 0, 'a', 'http://a', 60_000)).toBe(1);
      // a renewal an hour old, but the database started less than a minute ago: the holder had no
      // chance to renew while it was down, so nobody may take the lease yet
      await fresh.query(`UPDATE sluice.leases SET renewed_at = now() - interval '1 hour'`);
      expect(await leases.acquire('grace', 0, 'b', 'http://b', 60_000)).toBeUndefined();
      // ... and once the database has been up for a TTL, it can be taken
      expect(await leases.acquire('grace', 0, 'b', 'http://b', 50)).toBe(2);
    } finally {
      await fresh.end();
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
