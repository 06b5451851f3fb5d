/**
 * Clean shutdown on SIGTERM/SIGINT: run the handler once; a second signal, or the handler
 * outlasting `forceAfterMs`, exits at once with code 1.
 */
import type { Logger } from './log.ts';

export function onShutdownSignal(
  handler: (signal: NodeJS.Signals) => Promise<void>,
  options: { logger: Logger; forceAfterMs?: number },
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    options.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      options.logger.error('shutdown took too long: exiting now');
      process.exit(1);
    }, options.forceAfterMs ?? 30_000);
    force.unref();
    handler(signal).then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      (error) => {
        options.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Starts a service with the signals already handled: a SIGTERM while it is still starting (a
 * worker thread joining the consumer group, a lease being taken) waits for the start and then
 * stops it cleanly, instead of Node's default of dying by the signal (exit code 143).
 */
export async function startUntilSignal<Service extends { stop(): Promise<void> }>(
  start: () => Promise<Service>,
  options: { logger: Logger; forceAfterMs?: number },
): Promise<Service> {
  const starting = start();
  onShutdownSignal(async () => (await starting).stop(), options);
  return starting;
}
