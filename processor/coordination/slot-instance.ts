/**
 * A processor instance of one slot (cluster mode). The slot's lease in PostgreSQL is the only
 * owner of the slot's partitions: its holder reads them itself and commits offsets to the app's
 * group id (which has no members), so failover is detection (the TTL) + fencing + the first
 * commit, with no Kafka rebalance anywhere. Kafka's transactional fencing keeps a stale holder
 * from committing.
 *
 * Roles (slot-role.ts): a standby tails the slot's changelogs and polls for the lease; the
 * holder is active. An active also borrows the lease of a slot that has had no live instance
 * for the takeover delay, and hands it back when an instance of that slot appears. An active
 * that makes no progress (cut off from Kafka, tasks failing) hands its lease to a standby that
 * can reach Kafka.
 *
 * The holder name is the instance's identity, tied to its state directory (instance-identity.ts):
 * restarted on the same disk, an instance takes its own lease back at once.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { type Clock, systemClock, type Timer } from '../../common/clock.ts';
import { SluiceError } from '../../common/errors.ts';
import type { TransactionalProducer } from '../../common/kafka/index.ts';
import { type ActiveProcessing, startAssignedProcessing } from '../active.ts';
import { slotPartitions } from '../app-partitions.ts';
import type { ProcessorRuntime } from '../runtime.ts';
import { type ChangelogTailer, startChangelogTailers } from '../standby/changelog-tailer.ts';
import { startTableTailer } from '../standby/table-tailer.ts';
import type { KeyValueStore } from '../state/store.ts';
import { transactionalId } from '../topics.ts';
import {
  type HeldLease,
  holdLease,
  type LeaseSettings,
  leaseQueryTimeoutMs,
  partitionLeaseOf,
} from './lease.ts';
import { createLeaseRepository, type LeaseRepository, type MemberRow } from './lease-repository.ts';
import { migrate } from './migrator.ts';
import { createProgressWatch, type ProgressWatch } from './progress-watch.ts';
import { listenForReleases } from './release-listener.ts';
import { createSlotRoleMachine, type SlotRole, slotRoles } from './slot-role.ts';

export interface SlotInstance {
  readonly instanceId: string;
  readonly slot: number;
  role(): SlotRole;
  /** The epoch of this instance's own slot lease while it holds it. */
  epoch(): number | undefined;
  /** Slots whose leases this instance holds (its own first), with their epochs. */
  heldSlots(): { slot: number; epoch: number; borrowed: boolean }[];
  /** The active processing while this instance holds leases. */
  active(): ActiveProcessing | undefined;
  /** The HTTP address of the instance owning a partition (its slot's lease holder). */
  ownerAddress(partition: number): Promise<string | undefined>;
  /** A standby's store for one of its slot's partitions (state queries with allowStale). */
  standbyStore(partition: number, store: string): KeyValueStore | undefined;
  /** Standby: changelog records behind; active: 0. */
  lag(): Promise<number | undefined>;
  /** Clean stop: an active commits and releases its leases (notifying standbys at once). */
  stop(): Promise<void>;
}

/** The slot from config, or from the StatefulSet ordinal at the end of the host name. */
export function resolveSlot(slot: number | 'auto', slots: number, host = hostname()): number {
  if (slot !== 'auto') {
    if (slot >= slots) throw new Error(`cluster.slot ${slot} is not below cluster.slots ${slots}`);
    return slot;
  }
  const ordinal = /-(\d+)$/.exec(host);
  if (!ordinal) {
    throw new Error(`cannot derive the slot from host name "${host}" (no -<ordinal> suffix): pass --slot`);
  }
  return Number(ordinal[1]) % slots;
}

interface HeldSlot {
  slot: number;
  lease: HeldLease;
  partitions: number[];
  borrowed: boolean;
}

/** How long demotion waits for Kafka clients to close before the standby starts anyway. */
const closeBoundMs = 5000;

export async function startSlotInstance(
  runtime: ProcessorRuntime,
  options: {
    /** The lease holder name: stable across restarts on one state directory (instance-identity.ts). */
    instanceId: string;
    address: string;
    pool: pg.Pool;
    /** The pool's connection settings, for the LISTEN connection. */
    postgres: pg.ClientConfig;
    onFatalError: (error: unknown) => void;
    clock?: Clock;
    /** Starts the active side: on this thread by default, or over worker threads (processor/workers/). */
    startActive?: typeof startAssignedProcessing;
  },
): Promise<SlotInstance> {
  const { address, pool, instanceId } = options;
  const clock = options.clock ?? systemClock;
  const { config, logger, appId, kafka, admin, compiled, metrics } = runtime;
  const cluster = config.cluster;
  const slots = cluster.slots;
  const slot = resolveSlot(cluster.slot, slots);
  const log = logger.child({ slot, instance: instanceId });
  const settings: LeaseSettings = {
    heartbeatIntervalMs: cluster.heartbeatInterval,
    ttlMs: cluster.heartbeatInterval * cluster.heartbeatMaxRetry,
  };
  const takeoverDelayMs = cluster.takeoverDelay ?? settings.ttlMs;
  await migrate(pool, config.database.schema);
  const repository: LeaseRepository = createLeaseRepository(
    pool,
    config.database.schema,
    leaseQueryTimeoutMs(settings),
  );
  await repository.ensureSlots(appId, slots);
  // every sub-topology's partition numbers: they may outnumber the input's (app-partitions.ts)
  const partitionsOf = (of: number) => slotPartitions(runtime.partitions.max, slots, of);
  const stores = compiled.stores;
  /** Partitioned tables are followed like changelogs (their topic is their changelog). */
  const tables = compiled.topology.tables.filter((table) => table.kind === 'partitioned');
  const followsState = stores.length > 0 || tables.length > 0;

  const role = createSlotRoleMachine(({ from, to, reason }) => {
    log.info({ from, to, reason, epoch: held.get(slot)?.lease.epoch }, `now ${to}`);
    for (const name of slotRoles) metrics.role.set({ role: name }, name === to ? 1 : 0);
    metrics.leaseEpoch.set(held.get(slot)?.lease.epoch ?? 0);
  });
  const held = new Map<number, HeldSlot>();
  let active: ActiveProcessing | undefined;
  let tailer: ChangelogTailer | undefined;
  let tailerStarting: Promise<void> | undefined;
  let watch: ProgressWatch | undefined;
  let lastStalledMs = 0;
  let stopping = false;

  let queue: Promise<unknown> = Promise.resolve();
  /** Role changes run one at a time, in the order asked. */
  const serially = (what: string, work: () => Promise<void>) => {
    const next = queue.then(work);
    queue = next.catch((error) => log.error({ err: error }, `${what} failed`));
    return next;
  };
  const updateHeldGauge = () => {
    const borrowed = [...held.values()].filter((entry) => entry.borrowed).length;
    metrics.leasesHeld.set({ kind: 'own' }, held.size - borrowed);
    metrics.leasesHeld.set({ kind: 'borrowed' }, borrowed);
  };

  // ── standby ────────────────────────────────────────────────────────────────────────────────
  /** Follows the slot's changelogs in the background, retrying until the stores can be opened. */
  const startTailer = () => {
    if (!followsState || tailer || tailerStarting) return;
    tailerStarting = (async () => {
      while (!stopping && (role.current() === 'standby' || role.current() === 'starting')) {
        try {
          tailer = await startChangelogTailers({
            kafka,
            admin,
            appId,
            stores: stores.map((store) => ({
              ...store,
              partitions: runtime.partitions.subtopologies[store.subtopology]!,
            })),
            partitions: partitionsOf(slot),
            stateDir: config.processor.stateDir,
            logger: log,
            more:
              tables.length > 0
                ? () =>
                    startTableTailer({
                      tables,
                      // co-partitioned with the input
                      partitions: partitionsOf(slot).filter((p) => p < runtime.partitions.source),
                      appId,
                      stateDir: config.processor.stateDir,
                      kafka,
                      admin,
                      serde: runtime.serde,
                      logger: log,
                      metrics,
                    })
                : undefined,
          });
          // became active (or stopped) while it started: it is not needed any more
          if (role.current() !== 'standby' && role.current() !== 'starting') await stopTailer();
          return;
        } catch (error) {
          log.warn({ err: error }, 'standby cannot follow the changelog yet; retrying in 1 s');
          await new Promise((resolve) => clock.after(1000, () => resolve(undefined)));
        }
      }
    })().finally(() => {
      tailerStarting = undefined;
    });
  };
  const stopTailer = async () => {
    const stopped = tailer;
    tailer = undefined;
    await stopped?.stop();
  };
  /** A standby takes the lease only when it can reach Kafka (it would do no better otherwise). */
  const standbyCanReachKafka = () => {
    if (!followsState) return true;
    const fetched = tailer?.lastFetchAt();
    return fetched !== undefined && clock.now() - fetched < cluster.progressTimeout;
  };

  // ── active ─────────────────────────────────────────────────────────────────────────────────
  const fence = async (partitions: readonly number[], lease: HeldLease) => {
    const fenced = new Map<number, TransactionalProducer>();
    if (config.processor.guarantee !== 'exactly_once') return fenced;
    try {
      await Promise.all(
        // the first sub-topology's transactional ids: its partitions are the input's
        partitions
          .filter((partition) => partition < runtime.partitions.source)
          .map(async (partition) => {
            fenced.set(
              partition,
              await kafka.createTransactionalProducer(
                transactionalId(appId, compiled.source.topic, partition),
                {
                  mayFence: () => lease.state() !== 'lost',
                },
              ),
            );
          }),
      );
      return fenced;
    } catch (error) {
      await Promise.all([...fenced.values()].map((producer) => producer.disconnect().catch(() => undefined)));
      throw error;
    }
  };

  const ensureActive = async () => {
    active ??= await (options.startActive ?? startAssignedProcessing)(runtime, {
      clock,
      onFatalError: options.onFatalError,
      onFirstCommit: (partition, ms) => log.info({ partition, ms }, 'takeover step: first commit'),
    });
    return active;
  };

  /** Logs when every task of a newly held slot runs, with the time since the lease was acquired. */
  const reportWhenRunning = (entry: HeldSlot, acquiredAt: number) => {
    const kind = entry.borrowed ? 'borrowed' : 'own';
    const check = clock.every(50, () => {
      if (held.get(entry.slot) !== entry || !active) return check.cancel();
      const running = new Set(active.manager.running());
      if (!entry.partitions.every((partition) => running.has(partition))) return;
      check.cancel();
      const ms = Math.round(clock.now() - acquiredAt);
      metrics.takeoverSeconds.observe({ kind }, ms / 1000);
      log.info({ takenSlot: entry.slot, ms }, 'takeover step: every task restored and running');
    });
  };

  /** Takes up a slot whose lease was just acquired: fence, then process its partitions. */
  const takeUp = async (of: number, epoch: number, acquiredAt: number, borrowed: boolean) => {
    const lease = holdLease({
      repository,
      appId,
      slot: of,
      holder: instanceId,
      epoch,
      acquiredAt,
      settings,
      logger: log,
      clock,
    });
    const entry: HeldSlot = { slot: of, lease, partitions: partitionsOf(of), borrowed };
    held.set(of, entry);
    updateHeldGauge();
    lease.onLost((reason) => {
      void serially('giving up a lost lease', async () => {
        if (await takenBySameIdentity(of, epoch)) {
          // a standby again, it would take the lease back from its twin (same holder), and so on
          options.onFatalError(
            new SluiceError(
              'STATE_DIR_IN_USE',
              `another process with this instance's identity ${instanceId} (a copy of its state directory ${config.processor.stateDir}?) took the lease of slot ${of} at a higher epoch: stopping, since two processes with one identity would take the lease from each other`,
            ),
          );
          return;
        }
        await (of === slot
          ? demote(`lease lost: ${reason}`, { release: false })
          : dropBorrowed(entry, { commit: false }));
      });
    });
    const step = (name: string) =>
      log.info({ takenSlot: of, epoch, ms: Math.round(clock.now() - acquiredAt) }, `takeover step: ${name}`);
    step('lease acquired, renewing');
    let fenced: Map<number, TransactionalProducer> | undefined;
    try {
      // independent steps side by side: each costs a round trip or two, and failover waits for all
      const [tailerStopped, fencing, starting] = await Promise.allSettled([
        borrowed
          ? undefined
          : Promise.resolve(tailerStarting)
              .then(stopTailer)
              .then(() => step('tailer stopped')),
        fence(entry.partitions, lease).then((producers) => {
          step('fenced');
          return producers;
        }),
        ensureActive(),
      ]);
      if (fencing.status === 'fulfilled') fenced = fencing.value;
      for (const outcome of [tailerStopped, fencing, starting])
        if (outcome.status === 'rejected') throw outcome.reason;
      const processing = (starting as PromiseFulfilledResult<ActiveProcessing>).value;
      if (lease.state() === 'lost') throw new Error('the lease was lost during the takeover');
      processing.own(entry.partitions, partitionLeaseOf(lease), fenced!);
      fenced = undefined;
      step('tasks started (restoring, then reading from the committed offsets)');
      reportWhenRunning(entry, acquiredAt);
      metrics.takeovers.inc({ kind: borrowed ? 'borrowed' : 'own' });
    } catch (error) {
      log.error({ err: error, takenSlot: of, epoch }, 'taking over failed: releasing the lease');
      await Promise.all(
        [...(fenced?.values() ?? [])].map((producer) => producer.disconnect().catch(() => undefined)),
      );
      held.delete(of);
      updateHeldGauge();
      await active?.disown(entry.partitions, { commit: false });
      await lease.release();
      throw error;
    }
  };

  /** The lease moved past `epoch` to a holder with our own identity: another process of it. */
  const takenBySameIdentity = async (of: number, epoch: number) => {
    const row = (await repository.leases(appId).catch(() => [])).find((lease) => lease.slot === of);
    return row?.holder === instanceId && row.epoch > epoch;
  };

  // a lease that expires before the next poll is tried the moment it may be taken: the poll
  // interval no longer adds to failover (the database clock decides; a local timer only waits)
  let expiryTimer: Timer | undefined;
  const tryAgainAtExpiry = (expiresInMs: number) => {
    if (expiresInMs >= cluster.eventPollingInterval) return;
    expiryTimer?.cancel();
    expiryTimer = clock.after(expiresInMs + 1, () => void tryAcquire());
  };

  const tryAcquire = (): Promise<void> =>
    serially('checking the lease', async () => {
      const current = role.current();
      if (stopping || (current !== 'standby' && current !== 'starting')) return;
      if (current === 'standby' && !standbyCanReachKafka()) return;
      const sentAt = clock.now();
      let outcome: Awaited<ReturnType<LeaseRepository['acquireOrWait']>>;
      try {
        outcome = await repository.acquireOrWait(appId, slot, instanceId, address, settings.ttlMs);
      } catch (error) {
        log.warn({ err: error }, 'cannot reach Postgres to check the lease');
        return;
      }
      if (!('epoch' in outcome)) {
        tryAgainAtExpiry(outcome.expiresInMs);
        return;
      }
      const { epoch } = outcome;
      role.to('taking-over', `lease acquired at epoch ${epoch}`);
      try {
        await takeUp(slot, epoch, sentAt, false);
      } catch {
        await stopActiveIfIdle();
        role.to('standby', 'the takeover failed');
        startTailer();
        return;
      }
      watch = createProgressWatch({ clock, intervalMs: settings.heartbeatIntervalMs });
      role.to('active', 'slot taken over');
    });

  const stopActiveIfIdle = async () => {
    if (held.size > 0 || !active) return;
    const closing = active;
    active = undefined;
    await boundedClose(closing.stop({ commit: false }));
  };

  const boundedClose = async (closing: Promise<void>) => {
    const timedOut = await Promise.race([
      closing.then(() => false),
      new Promise<boolean>((resolve) => clock.after(closeBoundMs, () => resolve(true))),
    ]).catch(() => false);
    if (timedOut)
      log.warn({ boundMs: closeBoundMs }, 'Kafka clients still closing; going on without waiting');
  };

  /**
   * The own lease is gone (lost) or given away (release): commits stop at once (a lost lease
   * refuses them; released ones too), the role says so, and the Kafka clients close in the
   * background, bounded, before the instance follows the changelog again as a standby.
   */
  const demote = async (reason: string, { release }: { release: boolean }) => {
    const current = role.current();
    if (current !== 'active' && current !== 'taking-over') return;
    role.to('demoting', reason);
    watch = undefined;
    const leases = [...held.values()];
    held.clear();
    updateHeldGauge();
    // borrowed slots go back to the pool: another active may borrow them after the delay
    await Promise.all(
      leases.filter((entry) => release || entry.borrowed).map((entry) => entry.lease.release()),
    );
    const closing = active;
    active = undefined;
    if (closing) await boundedClose(closing.stop({ commit: false }));
    role.to('standby', 'demoted');
    startTailer();
  };

  const dropBorrowed = async (entry: HeldSlot, { commit }: { commit: boolean }) => {
    if (held.get(entry.slot) !== entry) return;
    held.delete(entry.slot);
    updateHeldGauge();
    await active?.disown(entry.partitions, { commit });
    await entry.lease.release();
    log.info(
      { borrowedSlot: entry.slot, commit },
      commit ? 'borrowed slot handed back' : 'borrowed slot dropped',
    );
  };

  /** Every heartbeat while active: progress, borrowing free slots and handing borrowed ones back. */
  const superviseActive = () =>
    serially('supervising the active', async () => {
      if (stopping || role.current() !== 'active' || !active || !watch) return;
      const stalledMs = watch.check({
        lastFetchAt: active.lastFetchAt(),
        failingSince: active.manager.failingSince(),
        restoring: active.manager.restoring(),
      });
      lastStalledMs = stalledMs;
      metrics.noProgressSeconds.set(stalledMs / 1000);
      let members: MemberRow[];
      try {
        members = await repository.members(appId);
      } catch {
        return; // Postgres unreachable: the lease machine handles it
      }
      const live = members.filter(
        (member) => member.instanceId !== instanceId && member.ageMs < settings.ttlMs,
      );
      if (stalledMs > cluster.progressTimeout) {
        const better = live.find(
          (member) => member.slot === slot && member.role === 'standby' && member.kafkaOk,
        );
        if (better) {
          log.warn(
            { stalledMs, standby: better.instanceId },
            'no progress on the slot for longer than progressTimeout: handing the lease to a standby that reaches Kafka',
          );
          await demote('no progress', { release: true });
          return;
        }
      }
      for (const entry of [...held.values()].filter((candidate) => candidate.borrowed)) {
        if (live.some((member) => member.slot === entry.slot)) await dropBorrowed(entry, { commit: true });
      }
      if (stalledMs > cluster.progressTimeout) return; // borrowing more would not help
      for (let other = 0; other < slots; other++) {
        if (other === slot || held.has(other) || live.some((member) => member.slot === other)) continue;
        const sentAt = clock.now();
        const epoch = await repository
          .borrow(appId, other, instanceId, address, settings.ttlMs, takeoverDelayMs)
          .catch(() => undefined);
        if (epoch === undefined) continue;
        log.warn({ borrowedSlot: other, epoch }, 'slot has no live instance: borrowing its lease');
        await takeUp(other, epoch, sentAt, true).catch(() => undefined);
      }
    });

  /** What this member tells the others: can it reach Kafka now? */
  const kafkaOk = () => {
    const current = role.current();
    if (current === 'standby') return standbyCanReachKafka();
    return current === 'active' && lastStalledMs <= cluster.progressTimeout;
  };

  const reportMember = async () => {
    const current = role.current();
    const lag = current === 'standby' ? await tailer?.lag().catch(() => null) : 0;
    metrics.standbyLag.set(lag ?? 0);
    await repository
      .upsertMember(appId, {
        instanceId,
        slot,
        role: current === 'stopped' ? 'standby' : current,
        address,
        changelogLag: lag ?? null,
        kafkaOk: kafkaOk(),
      })
      .catch(() => undefined);
  };

  // standbys hear a released lease at once; polling covers expiry and lost notifications
  const listener = listenForReleases({
    connection: options.postgres,
    appId,
    onRelease: (released) => {
      if (released === slot) void tryAcquire();
    },
    logger: log,
    connectTimeoutMs: settings.ttlMs,
  });
  const timers = [
    clock.every(cluster.eventPollingInterval, () => void tryAcquire()),
    clock.every(settings.heartbeatIntervalMs, () => {
      void reportMember();
      void superviseActive();
    }),
  ];

  await reportMember();
  await tryAcquire();
  if (role.current() === 'starting') {
    role.to('standby', 'the lease is held by another instance');
    startTailer();
  }

  return {
    instanceId,
    slot,
    role: () => role.current(),
    epoch: () => held.get(slot)?.lease.epoch,
    heldSlots: () =>
      [...held.values()]
        .sort((a, b) => Number(a.borrowed) - Number(b.borrowed) || a.slot - b.slot)
        .map(({ slot: of, lease, borrowed }) => ({ slot: of, epoch: lease.epoch, borrowed })),
    active: () => active,
    async ownerAddress(partition) {
      const leases = await repository.leases(appId).catch(() => []);
      return leases.find((lease) => lease.slot === partition % slots)?.holderAddress ?? undefined;
    },
    standbyStore: (partition, store) =>
      role.current() === 'standby' ? tailer?.storeFor(partition, store) : undefined,
    lag: async () => (role.current() === 'standby' ? tailer?.lag() : 0),
    stop: () =>
      serially('stopping', async () => {
        if (stopping) return;
        stopping = true;
        for (const timer of timers) timer.cancel();
        expiryTimer?.cancel();
        await listener.close();
        if (active) {
          const leases = [...held.values()];
          await active.stop({ commit: true });
          active = undefined;
          held.clear();
          await Promise.all(leases.map((entry) => entry.lease.release()));
        }
        await tailerStarting;
        await stopTailer();
        role.to('stopped', 'shutdown');
        await repository.removeMember(appId, instanceId).catch(() => undefined);
      }),
  };
}
