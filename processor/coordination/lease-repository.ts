/**
 * Every SQL statement about leases and members, one function each. Times come from the
 * database clock (now()) only, never from comparing the clocks of different machines.
 *
 * A lease is taken from another holder only after a full TTL without renewal *while the database
 * was up*: the holder could not renew while Postgres was down, so after a restart every holder
 * gets a TTL of grace (pg_postmaster_start_time()) before anyone may take its lease.
 */
import type pg from 'pg';
import { assertSchemaName } from './migrator.ts';

export const leaseChannel = 'sluice_leases';

export interface LeaseRow {
  slot: number;
  holder: string | null;
  holderAddress: string | null;
  epoch: number;
  /** Milliseconds since the last renewal, by the database clock; null when released. */
  ageMs: number | null;
}

export interface MemberRow {
  instanceId: string;
  /** The member's own slot (it may hold borrowed leases of other slots too). */
  slot: number;
  role: 'starting' | 'standby' | 'taking-over' | 'active' | 'demoting';
  address: string | null;
  changelogLag: number | null;
  /** Whether the member can reach Kafka now. */
  kafkaOk: boolean;
  ageMs: number;
}

export interface LeaseRepository {
  ensureSlots(appId: string, slots: number): Promise<void>;
  /** Takes the slot's lease when it is free or expired; returns the new epoch, or undefined. */
  acquire(
    appId: string,
    slot: number,
    holder: string,
    address: string,
    ttlMs: number,
  ): Promise<number | undefined>;
  /**
   * `acquire`, and when the lease is held: how long until it may be taken if its holder does not
   * renew (by the database's clock), so a standby can try again right then instead of at its
   * next poll.
   */
  acquireOrWait(
    appId: string,
    slot: number,
    holder: string,
    address: string,
    ttlMs: number,
  ): Promise<{ epoch: number } | { expiresInMs: number }>;
  /**
   * Takes another slot's lease for an active of a different slot: only when the slot has had an
   * owner before (a slot never held is not deployed yet), the lease has been free (or expired) for
   * `delayMs` longer than an own-slot instance would wait, and no live member of that slot exists
   * (seen within the TTL). Returns the new epoch, or undefined.
   */
  borrow(
    appId: string,
    slot: number,
    holder: string,
    address: string,
    ttlMs: number,
    delayMs: number,
  ): Promise<number | undefined>;
  /** Renews a lease we hold at `epoch`; undefined means we do not hold it any more. */
  renew(
    appId: string,
    slot: number,
    holder: string,
    epoch: number,
    timeoutMs: number,
  ): Promise<number | undefined>;
  /** Gives the lease up and notifies listeners, so a standby takes over at once. */
  release(appId: string, slot: number, holder: string, epoch: number): Promise<boolean>;
  leases(appId: string): Promise<LeaseRow[]>;
  upsertMember(appId: string, member: Omit<MemberRow, 'ageMs'>): Promise<void>;
  removeMember(appId: string, instanceId: string): Promise<void>;
  members(appId: string): Promise<MemberRow[]>;
}

/**
 * @param queryTimeoutMs bound of every lease and member statement (the lease path must never wait
 *   longer than a heartbeat on a database that does not answer); none when unset.
 */
export function createLeaseRepository(
  pool: pg.Pool,
  schema: string,
  queryTimeoutMs?: number,
): LeaseRepository {
  const s = assertSchemaName(schema);
  const query = <R extends pg.QueryResultRow>(text: string, values: unknown[], timeoutMs = queryTimeoutMs) =>
    pool.query<R>({ text, values, query_timeout: timeoutMs } as pg.QueryConfig);
  // the holder may be taken over: no renewal for a TTL, and the database up for a TTL at least
  const expired = (ttlParam: string) =>
    `renewed_at < now() - make_interval(secs => ${ttlParam} / 1000.0)
     AND pg_postmaster_start_time() < now() - make_interval(secs => ${ttlParam} / 1000.0)`;
  const acquireOrWait: LeaseRepository['acquireOrWait'] = async (appId, slot, holder, address, ttlMs) => {
    // the outer SELECT reads the row as it was before the UPDATE: the holder's last renewal
    const { rows } = await query<{ epoch: string | null; expires_in_ms: number | null }>(
      `WITH taken AS (
         UPDATE ${s}.leases
            SET holder = $3, holder_address = $4, epoch = epoch + 1, renewed_at = now(), released_at = NULL
          WHERE app_id = $1 AND slot = $2
            -- holder = $3: our own acquisition whose answer timed out (the row is ours; take it anew)
            AND (holder IS NULL OR holder = $3 OR (${expired('$5')}))
         RETURNING epoch)
       SELECT (SELECT epoch FROM taken) AS epoch,
              (SELECT greatest(0, ceil(extract(epoch FROM
                 greatest(renewed_at, pg_postmaster_start_time()) + make_interval(secs => $5 / 1000.0) - now()) * 1000))
                 FROM ${s}.leases WHERE app_id = $1 AND slot = $2)::float8 AS expires_in_ms`,
      [appId, slot, holder, address, ttlMs],
    );
    const row = rows[0];
    if (row?.epoch != null) return { epoch: Number(row.epoch) };
    return { expiresInMs: row?.expires_in_ms ?? ttlMs };
  };

  return {
    async ensureSlots(appId, slots) {
      await query(
        `INSERT INTO ${s}.leases (app_id, slot) SELECT $1, generate_series(0, $2 - 1) ON CONFLICT DO NOTHING`,
        [appId, slots],
      );
    },

    async acquire(appId, slot, holder, address, ttlMs) {
      const outcome = await acquireOrWait(appId, slot, holder, address, ttlMs);
      return 'epoch' in outcome ? outcome.epoch : undefined;
    },

    acquireOrWait,

    async borrow(appId, slot, holder, address, ttlMs, delayMs) {
      const { rows } = await query<{ epoch: string }>(
        `UPDATE ${s}.leases
            SET holder = $3, holder_address = $4, epoch = epoch + 1, renewed_at = now(), released_at = NULL
          WHERE app_id = $1 AND slot = $2
            -- a slot never held (epoch 0) is not deployed yet rather than failed: not borrowed
            AND epoch > 0
            AND (CASE WHEN holder IS NULL OR holder = $3
                      THEN coalesce(released_at, '-infinity') < now() - make_interval(secs => $6 / 1000.0)
                      ELSE ${expired('($5 + $6)')} END)
            AND NOT EXISTS (
              SELECT 1 FROM ${s}.members
               WHERE app_id = $1 AND slot = $2 AND instance_id <> $3
                 AND seen_at > now() - make_interval(secs => $5 / 1000.0))
        RETURNING epoch`,
        [appId, slot, holder, address, ttlMs, delayMs],
      );
      return rows[0] ? Number(rows[0].epoch) : undefined;
    },

    async renew(appId, slot, holder, epoch, timeoutMs) {
      const { rows } = await query<{ epoch: string }>(
        `UPDATE ${s}.leases SET renewed_at = now()
          WHERE app_id = $1 AND slot = $2 AND holder = $3 AND epoch = $4
        RETURNING epoch`,
        [appId, slot, holder, epoch],
        // a renewal that does not answer in time counts as failed (see lease.ts)
        timeoutMs,
      );
      return rows[0] ? Number(rows[0].epoch) : undefined;
    },

    async release(appId, slot, holder, epoch) {
      const { rows } = await query(
        `WITH released AS (
           UPDATE ${s}.leases SET holder = NULL, holder_address = NULL, renewed_at = NULL, released_at = now()
            WHERE app_id = $1 AND slot = $2 AND holder = $3 AND epoch = $4
           RETURNING slot)
         SELECT pg_notify('${leaseChannel}', $1 || ':' || slot) FROM released`,
        [appId, slot, holder, epoch],
      );
      return rows.length > 0;
    },

    async leases(appId) {
      const { rows } = await query<{
        slot: number;
        holder: string | null;
        holder_address: string | null;
        epoch: string;
        age_ms: number | null;
      }>(
        `SELECT slot, holder, holder_address, epoch,
                (EXTRACT(EPOCH FROM now() - renewed_at) * 1000)::float8 AS age_ms
           FROM ${s}.leases WHERE app_id = $1 ORDER BY slot`,
        [appId],
      );
      return rows.map((row) => ({
        slot: row.slot,
        holder: row.holder,
        holderAddress: row.holder_address,
        epoch: Number(row.epoch),
        ageMs: row.age_ms === null ? null : Math.round(row.age_ms),
      }));
    },

    async upsertMember(appId, member) {
      await query(
        `INSERT INTO ${s}.members (app_id, instance_id, slot, role, address, changelog_lag, kafka_ok, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (app_id, instance_id) DO UPDATE
            SET slot = $3, role = $4, address = $5, changelog_lag = $6, kafka_ok = $7, seen_at = now()`,
        [
          appId,
          member.instanceId,
          member.slot,
          member.role,
          member.address,
          member.changelogLag,
          member.kafkaOk,
        ],
      );
    },

    async removeMember(appId, instanceId) {
      await query(`DELETE FROM ${s}.members WHERE app_id = $1 AND instance_id = $2`, [appId, instanceId]);
    },

    async members(appId) {
      const { rows } = await query<{
        instance_id: string;
        slot: number;
        role: MemberRow['role'];
        address: string | null;
        changelog_lag: string | null;
        kafka_ok: boolean;
        age_ms: number;
      }>(
        `SELECT instance_id, slot, role, address, changelog_lag, kafka_ok,
                (EXTRACT(EPOCH FROM now() - seen_at) * 1000)::float8 AS age_ms
           FROM ${s}.members WHERE app_id = $1 ORDER BY slot, role, instance_id`,
        [appId],
      );
      return rows.map((row) => ({
        instanceId: row.instance_id,
        slot: row.slot,
        role: row.role,
        address: row.address,
        changelogLag: row.changelog_lag === null ? null : Number(row.changelog_lag),
        kafkaOk: row.kafka_ok,
        ageMs: Math.round(row.age_ms),
      }));
    },
  };
}
