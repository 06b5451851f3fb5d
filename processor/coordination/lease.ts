/**
 * The holder's side of one slot lease, as a state machine:
 *
 *   held ──► degraded (a renewal failed: refused, unreachable, timed out) ──► held (renewed again)
 *     │          │
 *     └──────────┴──► lost (Postgres says another instance holds it)  |  released (we gave it up)
 *
 * The holder renews every heartbeat interval, from the moment it acquired the lease. It may
 * start a commit only while its last renewal that Postgres confirmed was *sent* less than a TTL
 * minus one heartbeat interval ago by this machine's clock: Postgres stamped that renewal later
 * than we sent it, so our deadline always falls before the database's, whatever the reason
 * renewals stopped, and the heartbeat of margin leaves a commit begun just before it the time to
 * finish before anyone may take the lease. "Postgres is down for
 * everybody" is never assumed (when only this instance is cut off, a standby takes the lease
 * after the TTL). A degraded lease whose deadline passed stays ours until Postgres answers: a
 * renewal then either confirms it (nobody took it, e.g. after a database restart) or loses it.
 * A task fenced in Kafka may have met the lease's new holder while our own clock still says the
 * lease is ours (we were frozen; a copy of our state directory took it at once): `reconfirm` stops
 * commits, and fencing back, until a renewal sent after it succeeds; a refused one loses the lease.
 */
import { type Clock, systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import { createStateMachine, type Transitions } from '../../common/state-machine.ts';
import type { PartitionLease } from '../task/task-starter.ts';
import type { LeaseRepository } from './lease-repository.ts';

export interface LeaseSettings {
  heartbeatIntervalMs: number;
  /** heartbeatInterval × heartbeatMaxRetry */
  ttlMs: number;
}

export type LeaseState = 'held' | 'degraded' | 'lost' | 'released';

const transitions: Transitions<LeaseState> = {
  held: ['degraded', 'lost', 'released'],
  degraded: ['held', 'lost', 'released'],
  lost: [],
  released: [],
};

export interface HeldLease {
  readonly slot: number;
  readonly epoch: number;
  state(): LeaseState;
  /**
   * True while the holder may commit: held or degraded, within TTL − heartbeat of the last
   * confirmed renewal, and confirmed since the last `reconfirm`.
   */
  canCommit(): boolean;
  /**
   * The clock.now() before which a commit may start (what canCommit compares with), or -Infinity
   * while it may not (lost, released, or waiting for a reconfirmation): worker threads mirror it
   * (processor/workers/lease-cells.ts).
   */
  commitDeadline(): number;
  /** Called after every renewal and state change: the commit deadline may have moved. */
  onChange(listener: () => void): void;
  /**
   * Someone may have taken the lease (Kafka fenced us): no commits until a renewal sent from now
   * on confirms it (asked at once); a refused one loses the lease.
   */
  reconfirm(): void;
  /** Called once when the lease is lost (not when it is released). */
  onLost(listener: (reason: string) => void): void;
  /** Stops renewing and gives the lease up, so a standby takes over at once (clean hand-over). */
  release(): Promise<void>;
}

/** The right to commit that tasks (on this thread or in workers) get from a held lease. */
export function partitionLeaseOf(lease: HeldLease): PartitionLease {
  return {
    epoch: () => lease.epoch,
    canCommit: () => lease.canCommit(),
    commitDeadline: () => lease.commitDeadline(),
    onChange: (listener) => lease.onChange(listener),
    reconfirm: () => lease.reconfirm(),
  };
}

/** A renewal must answer well within one heartbeat, so a slow database cannot delay the next. */
export function leaseQueryTimeoutMs(settings: LeaseSettings): number {
  return Math.max(100, Math.floor(settings.heartbeatIntervalMs * 0.8));
}

export function holdLease(options: {
  repository: LeaseRepository;
  appId: string;
  slot: number;
  holder: string;
  epoch: number;
  /** When the acquiring statement was sent (clock.now()): the lease is confirmed as of then. */
  acquiredAt: number;
  settings: LeaseSettings;
  logger: Logger;
  clock?: Clock;
}): HeldLease {
  const { repository, appId, slot, holder, epoch, settings } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ slot, epoch });
  const machine = createStateMachine<LeaseState>(`lease ${slot}`, transitions, 'held');
  let confirmedAt = options.acquiredAt;
  // renewals are numbered as sent: after a reconfirm, one sent later must succeed before commits
  let renewalsSent = 0;
  let confirmedRenewal = 0;
  let mustConfirm = 0;
  let renewAgain = false;
  let expiryLogged = false;
  let renewing = false;
  const lostListeners: ((reason: string) => void)[] = [];
  const changeListeners: (() => void)[] = [];
  const changed = () => {
    for (const listener of changeListeners) listener();
  };

  const become = (next: LeaseState, reason: string) => {
    const from = machine.to(next);
    log.info({ from, to: next, reason }, `lease ${next}`);
    changed();
  };
  const isOver = () => machine.state === 'lost' || machine.state === 'released';
  const withinTtl = () => clock.now() - confirmedAt < settings.ttlMs - settings.heartbeatIntervalMs;

  const renew = async () => {
    const sentAt = clock.now();
    const number = ++renewalsSent;
    try {
      const renewed = await repository.renew(appId, slot, holder, epoch, leaseQueryTimeoutMs(settings));
      if (isOver()) return;
      if (renewed === undefined) {
        timer.cancel();
        become('lost', 'another instance holds the lease');
        for (const listener of lostListeners) listener('another instance holds the lease');
        return;
      }
      confirmedAt = sentAt;
      confirmedRenewal = Math.max(confirmedRenewal, number);
      expiryLogged = false;
      if (machine.state === 'degraded') become('held', 'renewed again');
      else changed();
    } catch (error) {
      if (isOver()) return;
      if (machine.state === 'held') {
        log.warn({ err: error }, 'cannot renew the lease; committing until it would expire, retrying');
        become('degraded', (error as Error).message ?? String(error));
      }
      if (!withinTtl() && !expiryLogged) {
        expiryLogged = true;
        log.warn(
          { ttlMs: settings.ttlMs },
          'lease expired by our clock: no more commits until Postgres confirms it is still ours',
        );
      }
    }
  };

  const renewNow = () => {
    if (isOver()) return;
    if (renewing) {
      renewAgain = true;
      return;
    }
    renewing = true;
    void renew().finally(() => {
      renewing = false;
      if (renewAgain) {
        renewAgain = false;
        renewNow();
      }
    });
  };
  const timer = clock.every(settings.heartbeatIntervalMs, () => {
    if (!renewing) renewNow();
  });

  return {
    slot,
    epoch,
    state: () => machine.state,
    canCommit: () => !isOver() && withinTtl() && confirmedRenewal >= mustConfirm,
    commitDeadline: () =>
      isOver() || confirmedRenewal < mustConfirm
        ? Number.NEGATIVE_INFINITY
        : confirmedAt + settings.ttlMs - settings.heartbeatIntervalMs,
    onChange: (listener) => void changeListeners.push(listener),
    reconfirm() {
      if (isOver()) return;
      mustConfirm = renewalsSent + 1;
      log.warn('fenced in Kafka: no commits until Postgres confirms the lease again');
      changed();
      renewNow();
    },
    onLost: (listener) => void lostListeners.push(listener),
    async release() {
      if (isOver()) return;
      timer.cancel();
      become('released', 'given up');
      await repository.release(appId, slot, holder, epoch).catch((error) => {
        log.warn({ err: error }, 'could not release the lease; it will expire');
      });
    },
  };
}
