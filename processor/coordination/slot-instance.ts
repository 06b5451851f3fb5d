/**
 * A processor instance started for one slot: it is the slot's active (holds the lease, consumes,
 * commits) or a standby (follows the slot's changelogs, waits for the lease). The lease in
 * PostgreSQL says who should be active; Kafka's fencing keeps a stale active from committing.
 *
 *   starting ──► standby ◄──► active ──► stopped
 *       └────────────────────────┘
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { TransactionalProducer } from '../../common/kafka/index.ts';
import { type ActiveProcessing, startActive } from '../active.ts';
import type { ProcessorRuntime } from '../runtime.ts';
import { type ChangelogTailer, startChangelogTailer } from '../standby/changelog-tailer.ts';
import { changelogTopic, transactionalId } from '../topics.ts';
import { type HeldLease, holdLease } from './lease.ts';
import { createLeaseRepository, leaseChannel } from './lease-repository.ts';
import { migrate } from './migrator.ts';
import { slotAssignmentStrategy } from './slot-assignment.ts';

export type Role = 'starting' | 'standby' | 'active' | 'stopped';

const transitions: Record<Role, readonly Role[]> = {
  starting: ['standby', 'active', 'stopped'],
  standby: ['active', 'stopped'],
  active: ['standby', 'stopped'],
  stopped: [],
};

export interface SlotInstance {
  readonly instanceId: string;
  readonly slot: number;
  role(): Role;
  epoch(): number | undefined;
  /** The active processing while active. */
  active(): ActiveProcessing | undefined;
  /** The HTTP address of the active owning a partition (its slot's lease holder). */
  ownerAddress(partition: number): Promise<string | undefined>;
  /** A standby's store for one of its slot's partitions (state queries with allowStale). */
  standbyStore(partition: number): import('../state/store.ts').KeyValueStore | undefined;
  /** Standby: changelog records behind; active: 0. */
  lag(): Promise<number | undefined>;
  /** Clean stop: an active commits, leaves the group and releases the lease (notifying standbys). */
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

export async function startSlotInstance(
  runtime: ProcessorRuntime,
  options: { address: string; pool: pg.Pool },
): Promise<SlotInstance> {
  const { address, pool } = options;
  const { config, logger, appId, kafka, admin, compiled } = runtime;
  const cluster = config.cluster;
  const slots = cluster.slots;
  const slot = resolveSlot(cluster.slot, slots);
  const instanceId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = logger.child({ slot, instance: instanceId });
  const settings = {
    heartbeatIntervalMs: cluster.heartbeatInterval,
    ttlMs: cluster.heartbeatInterval * cluster.heartbeatMaxRetry,
  };
  await migrate(pool, config.database.schema);
  const repository = createLeaseRepository(pool, config.database.schema);
  await repository.ensureSlots(appId, slots);
  const slotPartitions = Array.from({ length: runtime.sourcePartitions }, (_, p) => p).filter(
    (p) => p % slots === slot,
  );

  let role: Role = 'starting';
  let lease: HeldLease | undefined;
  let active: ActiveProcessing | undefined;
  let tailer: ChangelogTailer | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const serially = (work: () => Promise<void>) => {
    const next = queue.then(work);
    queue = next.catch((error) => log.error({ err: error }, 'role change failed'));
    return next;
  };
  const become = (next: Role) => {
    if (!transitions[role].includes(next))
      throw new Error(`slot ${slot}: illegal transition ${role} → ${next}`);
    log.info({ from: role, to: next, epoch: lease?.epoch }, `now ${next}`);
    runtime.metrics.role.set({ role }, 0);
    role = next;
    runtime.metrics.role.set({ role: next }, 1);
    runtime.metrics.leaseEpoch.set(next === 'active' ? (lease?.epoch ?? 0) : 0);
  };

  const becomeStandby = async () => {
    const store = compiled.grouping?.store;
    if (store) {
      tailer = await startChangelogTailer({
        kafka,
        admin,
        appId,
        store,
        changelogTopic: changelogTopic(appId, store),
        partitions: slotPartitions,
        stateDir: config.processor.stateDir,
        logger: log,
      });
    }
    if (role !== 'standby') become('standby');
  };

  const becomeActive = async (epoch: number) => {
    await tailer?.stop();
    tailer = undefined;
    const held = holdLease({ repository, appId, slot, holder: instanceId, epoch, settings, logger: log });
    lease = held;
    // queued behind this takeover: a loss during it demotes right after
    held.onLost(() => void serially(() => demote(held)));
    const fenced = new Map<number, TransactionalProducer>();
    try {
      // fence the previous active's producers now, before the group hands the partitions over
      if (config.processor.guarantee === 'exactly_once') {
        await Promise.all(
          slotPartitions.map(async (partition) => {
            fenced.set(
              partition,
              await kafka.createTransactionalProducer(
                transactionalId(appId, compiled.source.topic, partition),
              ),
            );
          }),
        );
      }
      active = await startActive(runtime, {
        strategy: slotAssignmentStrategy({ slot, epoch }, slots),
        epoch: () => epoch,
        canCommit: () => held.canCommit(),
        fencedProducers: fenced,
        onFatalError: (error) => {
          log.fatal({ err: error }, 'the consumer stopped and will not recover: exiting');
          process.exit(1);
        },
      });
    } catch (error) {
      // never sit on a lease without processing: give it back so this or another standby retries
      log.error({ err: error, epoch }, 'taking over failed: releasing the lease and waiting as a standby');
      await Promise.all([...fenced.values()].map((producer) => producer.disconnect().catch(() => undefined)));
      await held.release();
      lease = undefined;
      await becomeStandby();
      return;
    }
    become('active');
  };

  /** The lease is gone: stop processing at once (nothing uncommitted is committed) and wait as a standby. */
  const demote = async (held: HeldLease) => {
    if (role !== 'active' || lease !== held) return;
    await active?.stop({ commit: false });
    active = undefined;
    lease = undefined;
    await becomeStandby();
  };

  const tryAcquire = () =>
    serially(async () => {
      if (role !== 'standby' && role !== 'starting') return;
      let epoch: number | undefined;
      try {
        epoch = await repository.acquire(appId, slot, instanceId, address, settings.ttlMs);
      } catch (error) {
        log.warn({ err: error }, 'cannot reach Postgres to check the lease');
        return;
      }
      if (epoch !== undefined) await becomeActive(epoch);
    });

  // standbys hear a released lease at once; polling covers expiry and lost notifications
  const listener = listenForReleases(config.database.url, appId, slot, () => void tryAcquire(), log);
  const poll = setInterval(() => void tryAcquire(), cluster.eventPollingInterval);
  poll.unref();

  const reportMember = async () => {
    const lag = role === 'standby' ? await tailer?.lag().catch(() => null) : 0;
    runtime.metrics.standbyLag.set(lag ?? 0);
    await repository
      .upsertMember(appId, {
        instanceId,
        slot,
        role: role === 'stopped' ? 'standby' : role,
        address,
        changelogLag: lag ?? null,
      })
      .catch(() => undefined);
  };
  const memberTimer = setInterval(() => void reportMember(), cluster.heartbeatInterval);
  memberTimer.unref();

  await tryAcquire();
  if (role === 'starting') await serially(becomeStandby);
  await reportMember();

  return {
    instanceId,
    slot,
    role: () => role,
    epoch: () => lease?.epoch,
    active: () => active,
    async ownerAddress(partition) {
      const leases = await repository.leases(appId).catch(() => []);
      return leases.find((lease) => lease.slot === partition % slots)?.holderAddress ?? undefined;
    },
    standbyStore: (partition) => (role === 'standby' ? tailer?.storeFor(partition) : undefined),
    lag: async () => (role === 'standby' ? tailer?.lag() : 0),
    stop: () =>
      serially(async () => {
        if (role === 'stopped') return;
        clearInterval(poll);
        clearInterval(memberTimer);
        await listener.close();
        if (role === 'active') {
          await active?.stop({ commit: true });
          await lease?.release();
        }
        await tailer?.stop();
        become('stopped');
        await repository.removeMember(appId, instanceId).catch(() => undefined);
      }),
  };
}

/** LISTENs for lease releases of this slot, reconnecting when Postgres goes away. */
function listenForReleases(
  url: string,
  appId: string,
  slot: number,
  onRelease: () => void,
  log: ProcessorRuntime['logger'],
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let closed = false;
  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    next.on('notification', (message) => {
      if (message.payload === `${appId}:${slot}`) onRelease();
    });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (!closed) setTimeout(() => void connect(), 1000).unref();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${leaseChannel}`);
      client = next;
    } catch (error) {
      log.debug({ err: error }, 'cannot LISTEN for lease releases yet; retrying');
      await next.end().catch(() => undefined);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      await client?.end().catch(() => undefined);
    },
  };
}
