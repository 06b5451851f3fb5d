/**
 * LISTENs for lease releases of an app, so a standby takes a released lease at once instead of at
 * its next poll. Reconnects when Postgres goes away; polling covers notifications lost meanwhile.
 */
import pg from 'pg';
import type { Logger } from '../../common/log.ts';
import { leaseChannel } from './lease-repository.ts';

export interface ReleaseListener {
  close(): Promise<void>;
}

export function listenForReleases(options: {
  /** How to reach Postgres (URL, password, TLS: the same as the lease pool's). */
  connection: pg.ClientConfig;
  appId: string;
  /** Told the slot whose lease was released. */
  onRelease(slot: number): void;
  logger: Logger;
  connectTimeoutMs: number;
}): ReleaseListener {
  const { connection, appId, onRelease, logger } = options;
  let client: pg.Client | undefined;
  let closed = false;
  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ ...connection, connectionTimeoutMillis: options.connectTimeoutMs });
    next.on('notification', (message) => {
      const [app, slot] = (message.payload ?? '').split(':');
      if (app === appId && slot !== undefined) onRelease(Number(slot));
    });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (!closed) setTimeout(() => void connect(), 1000).unref();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${leaseChannel}`);
      if (closed) await next.end();
      else client = next;
    } catch (error) {
      logger.debug({ err: error }, 'cannot LISTEN for lease releases yet; retrying');
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
