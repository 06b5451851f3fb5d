/**
 * Logging: pino JSON lines on stderr. Parts of the system take a `Logger` and bind their own
 * context with `logger.child({ app, slot, partition })`; payloads are never logged.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(options: { name: string; level?: LogLevel }): Logger {
  return pino(
    { name: options.name, level: options.level ?? (process.env.SLUICE_LOG_LEVEL as LogLevel) ?? 'info' },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and for library use without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
