import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.ts';
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
    const third = await repository.acquire(id, 0, 'a', 'http://a', 10_000);
    expect(third).toBeGreaterThan(second!);
    expect(await repository.renew(id, 0, 'b', second!, 1000)).toBeUndefined();
  });

  it('treats a renewal that Postgres does not answer within the TTL as a loss', async () => {
    const id = app();
    await repository.ensureSlots(id, 1);
    const epoch = (await repository.acquire(id, 0, 'a', 'http://a', 10_000))!;
    const lease = holdLease({
      repository,
      appId: id,
      slot: 0,
      holder: 'a',
      epoch,
      settings: { heartbeatIntervalMs: 100, ttlMs: 600 },
      logger: silentLogger(),
    });
    let reason: string | undefined;
    lease.onLost((why) => {
      reason = why;
    });
    // hold the row locked: renewals block until their query timeout
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM ${schema}.leases WHERE app_id = $1 FOR UPDATE`, [id]);
    try {
      await waitFor('the lease to be lost', () => lease.isLost(), { timeoutMs: 5000 });
      expect(reason).toMatch(/no renewal for 600 ms/);
      expect(lease.canCommit()).toBe(false);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      lease.stop();
    }
  });

  it('keeps the lease while Postgres refuses connections (nobody else can take it)', async () => {
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
      settings: { heartbeatIntervalMs: 50, ttlMs: 200 },
      logger: silentLogger(),
    });
    try {
      // renewals refused for well over a TTL (200 ms)
      await waitFor('eight refused renewals', () => refused >= 8, { timeoutMs: 5000, intervalMs: 20 });
      expect(lease.isLost()).toBe(false);
      expect(lease.canCommit()).toBe(true);
    } finally {
      lease.stop();
      await down.end();
    }
  });
});
