/**
 * One worker of a router with several (node:cluster): a whole router (its own producers,
 * publisher and HTTP server on the shared port) whose rate limits and /metrics belong to the
 * primary. It stops when the primary says so or on SIGTERM, draining like a lone router: the
 * server closes, every accepted request is answered after Kafka acknowledged it, then it exits 0.
 * Ordered to stop while still starting, it exits at once (nothing accepted yet); failing to start
 * (a broker refusing its credentials), it exits 1 and the primary stops the instance.
 * SIGINT is ignored: a Ctrl-C reaches the whole process group, and the primary's stop order covers it.
 */
import { AggregatorRegistry } from 'prom-client';
import { saveCompileCacheSoon } from '../../common/compile-cache.ts';
import type { LoadedConfig } from '../../common/config/load.ts';
import type { Logger } from '../../common/log.ts';
import { type RunningRouter, startRouter } from '../main.ts';
import { createRateLimiter, hasRateLimits } from '../rate-limit.ts';
import { linkToPrimary } from './ipc.ts';
import { createSharedRateLimiter } from './shared-rate-limit.ts';

/** A worker that exits with this code hit a configuration error: restarting it cannot help. */
export const fatalExitCode = 78;

export async function runRouterWorker(
  loaded: LoadedConfig,
  logger: Logger,
  forceAfterMs = 30_000,
): Promise<void> {
  const primary = linkToPrimary();
  // prom-client answers the primary's metric requests only in a process that built an AggregatorRegistry
  new AggregatorRegistry();
  const settings = loaded.config.router.rateLimit;
  let router: RunningRouter | undefined;
  let stopping = false;
  const drain = (running: RunningRouter) => {
    logger.info('worker draining');
    setTimeout(() => {
      logger.error('worker drain took too long: exiting now');
      process.exit(1);
    }, forceAfterMs).unref();
    running.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'worker stop failed');
        process.exit(1);
      },
    );
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (router) return drain(router);
    // still starting (a broker refusing our credentials makes that last): nothing was accepted yet
    logger.info('stop ordered while starting: exiting');
    process.exit(0);
  };
  primary.onStop(stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => undefined);
  try {
    router = await startRouter(loaded, logger, {
      onFatalError(error) {
        logger.fatal({ err: error }, 'the registry refused a stream schema: exiting');
        process.exit(fatalExitCode);
      },
      worker: {
        // without limits there is nothing to share: no IPC round trip per request
        rateLimiter: hasRateLimits(settings) ? createSharedRateLimiter(primary) : createRateLimiter(settings),
        shareMetrics: (registry) => AggregatorRegistry.setRegistries([registry]),
        metricsText: async () => (await primary.ask({ sluice: 'metrics' })).text ?? '',
      },
    });
  } catch (error) {
    // the caller reports the error; the IPC channel to the primary would keep this process alive
    process.disconnect?.();
    throw error;
  }
  primary.send({ sluice: 'ready', address: router.address });
  saveCompileCacheSoon();
}
