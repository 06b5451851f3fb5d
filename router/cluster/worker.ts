/**
 * One worker of a router with several (node:cluster): a whole router (its own producers,
 * publisher and HTTP server on the shared port) whose rate limits and /metrics belong to the
 * primary. It stops when the primary says so or on SIGTERM, draining like a lone router: the
 * server closes, every accepted request is answered after Kafka acknowledged it, then it exits 0.
 * SIGINT is ignored: a Ctrl-C reaches the whole process group, and the primary's stop order covers it.
 */
import { AggregatorRegistry } from 'prom-client';
import type { LoadedConfig } from '../../common/config/load.ts';
import type { Logger } from '../../common/log.ts';
import { startRouter } from '../main.ts';
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
  const router = await startRouter(loaded, logger, {
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
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info('worker draining');
    setTimeout(() => {
      logger.error('worker drain took too long: exiting now');
      process.exit(1);
    }, forceAfterMs).unref();
    router.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'worker stop failed');
        process.exit(1);
      },
    );
  };
  primary.onStop(stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => undefined);
  primary.send({ sluice: 'ready', address: router.address });
}
