/**
 * The active's hold on its slot's lease: renews every heartbeat interval and says whether the
 * holder may still commit. Lost when a renewal finds another holder, or when no renewal has
 * succeeded for a TTL while Postgres answered or stayed silent. When Postgres refuses
 * connections (it is down: nobody can take the lease) the holder keeps going and keeps trying.
 * Elapsed time is measured on this machine only; the database decides expiry with its own clock.
 */
import type { Logger } from '../../common/log.ts';
import type { LeaseRepository } from './lease-repository.ts';

export interface LeaseSettings {
  heartbeatIntervalMs: number;
  /** heartbeatInterval × heartbeatMaxRetry */
  ttlMs: number;
}

export interface HeldLease {
  readonly epoch: number;
  /** True while the holder may commit: renewed within the TTL, or Postgres is down. */
  canCommit(): boolean;
  isLost(): boolean;
  /** Called once when the lease is lost. */
  onLost(listener: (reason: string) => void): void;
  /** Stops renewing and gives the lease up (clean shutdown). */
  release(): Promise<void>;
  /** Stops renewing without releasing (the lease then expires). */
  stop(): void;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

/** Postgres is down (refuses connections, shutting down), as opposed to slow or unreachable in silence. */
export function isPostgresDown(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code !== undefined && unreachableCodes.has(code);
}

export function holdLease(options: {
  repository: LeaseRepository;
  appId: string;
  slot: number;
  holder: string;
  epoch: number;
  settings: LeaseSettings;
  logger: Logger;
}): HeldLease {
  const { repository, appId, slot, holder, epoch, settings, logger } = options;
  let lastRenewed = performance.now();
  let postgresDown = false;
  let lost = false;
  let stopped = false;
  const listeners: ((reason: string) => void)[] = [];

  const lose = (reason: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    logger.warn({ slot, epoch, reason }, 'lease lost');
    for (const listener of listeners) listener(reason);
  };

  const renew = async () => {
    if (lost || stopped) return;
    const elapsed = performance.now() - lastRenewed;
    try {
      const renewed = await repository.renew(
        appId,
        slot,
        holder,
        epoch,
        Math.max(200, settings.ttlMs - elapsed),
      );
      if (renewed === undefined) return lose('another instance holds the lease');
      lastRenewed = performance.now();
      if (postgresDown) logger.info({ slot }, 'Postgres is back: lease renewed');
      postgresDown = false;
    } catch (error) {
      if (isPostgresDown(error)) {
        if (!postgresDown)
          logger.warn({ slot, err: error }, 'Postgres is down: continuing as active, retrying');
        postgresDown = true;
        return;
      }
      postgresDown = false;
      if (performance.now() - lastRenewed >= settings.ttlMs)
        lose(`no renewal for ${settings.ttlMs} ms (${String(error)})`);
    }
  };

  let renewing = false;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    renew().finally(() => {
      renewing = false;
    });
  }, settings.heartbeatIntervalMs);
  timer.unref();

  return {
    epoch,
    canCommit: () => !lost && (postgresDown || performance.now() - lastRenewed < settings.ttlMs),
    isLost: () => lost,
    onLost: (listener) => void listeners.push(listener),
    async release() {
      stopped = true;
      clearInterval(timer);
      if (lost) return;
      await repository.release(appId, slot, holder, epoch).catch((error) => {
        logger.warn({ slot, err: error }, 'could not release the lease; it will expire');
      });
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
