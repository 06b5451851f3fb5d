/**
 * Owns each stream's schema id. Registered (or looked up) at start; a registry that does not
 * answer does not stop the router: the stream waits for its id, retried in the background with
 * capped, jittered backoff, and its requests are refused with 503 + Retry-After until then. Once
 * known, an id never changes for the life of the router, so a registry outage later changes
 * nothing for the stream. Any other answer (an incompatible schema, refused credentials) is a
 * configuration error: at start it is thrown, later it goes to `onFatalError`.
 *
 * Per stream: `waiting` (no id yet, a retry scheduled) → `known`.
 */
import { jitteredBackoffMs } from '../common/backoff.ts';
import type { Clock, Timer } from '../common/clock.ts';
import { describeError, isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { RequestProblem } from './problems.ts';

/** The first retry is quick (a registry restarting), a lasting outage is asked every 30 s at most. */
export const schemaIdBackoff = { baseMs: 500, capMs: 30_000 };

type StreamSchemaState =
  | { state: 'known'; id: number }
  | { state: 'waiting'; attempt: number; lastError: unknown; retryAt: number; timer: Timer };

export interface SchemaIds {
  /** The stream's schema id; while it is not known, throws ROUTER_SCHEMA_UNAVAILABLE (503 + Retry-After). */
  idOf(stream: string): number;
  /** Why some stream cannot accept events yet (for /readyz), or undefined when every id is known. */
  waitingReason(): string | undefined;
  /** Cancels the retries. */
  stop(): void;
}

export interface SchemaIdOptions {
  /** Where the registry is, for messages. */
  registryUrl: string;
  clock: Clock;
  logger: Logger;
  /** A retry got an answer no retry fixes (an incompatible schema, refused credentials). */
  onFatalError(error: unknown): void;
  random?: () => number;
}

/** Only an unreachable registry is waited for; everything else is the configuration's fault. */
function isOutage(error: unknown): boolean {
  return isSluiceError(error, 'REGISTRY_UNAVAILABLE');
}

/**
 * Looks every stream's id up once (in order, as the registry prefers); throws the first error
 * that is not an outage. `lookup` registers or finds the id of one stream.
 */
export async function resolveSchemaIds(
  streams: readonly string[],
  lookup: (stream: string) => Promise<number>,
  options: SchemaIdOptions,
): Promise<SchemaIds> {
  const { clock, logger } = options;
  const states = new Map<string, StreamSchemaState>();
  let stopped = false;

  const wait = (stream: string, attempt: number, error: unknown) => {
    const delayMs = jitteredBackoffMs(attempt, schemaIdBackoff, options.random);
    const timer = clock.after(delayMs, () => void retry(stream));
    states.set(stream, {
      state: 'waiting',
      attempt,
      lastError: error,
      retryAt: clock.now() + delayMs,
      timer,
    });
    logger.warn(
      { stream, attempt, retryInMs: Math.round(delayMs), err: error },
      'schema id not known: the registry does not answer; its events get 503 until a retry succeeds',
    );
  };

  const retry = async (stream: string) => {
    const current = states.get(stream);
    if (stopped || current?.state !== 'waiting') return;
    try {
      const id = await lookup(stream);
      if (stopped) return;
      states.set(stream, { state: 'known', id });
      logger.info({ stream, schemaId: id }, 'schema id known: the stream accepts events');
    } catch (error) {
      if (stopped) return;
      if (isOutage(error)) wait(stream, current.attempt + 1, error);
      else options.onFatalError(error);
    }
  };

  for (const stream of streams) {
    try {
      states.set(stream, { state: 'known', id: await lookup(stream) });
    } catch (error) {
      if (!isOutage(error)) {
        stopAll();
        throw error;
      }
      wait(stream, 0, error);
    }
  }

  function stopAll() {
    stopped = true;
    for (const state of states.values()) if (state.state === 'waiting') state.timer.cancel();
  }

  return {
    idOf(stream) {
      const state = states.get(stream);
      if (state?.state === 'known') return state.id;
      const retryAfterSeconds = state ? Math.max(1, Math.ceil((state.retryAt - clock.now()) / 1000)) : 1;
      throw new RequestProblem(
        'ROUTER_SCHEMA_UNAVAILABLE',
        `stream ${stream} cannot encode events yet: its schema id is not known because the schema registry at ${options.registryUrl} does not answer (${state ? describeError(state.lastError) : 'not asked yet'}); nothing was published. Retry after ${retryAfterSeconds} s; the router asks the registry again by itself. If this lasts, check that the registry runs and that registry.url is reachable from the router`,
        { retryAfterSeconds },
      );
    },
    waitingReason() {
      const waiting = [...states].filter(([, state]) => state.state === 'waiting').map(([name]) => name);
      return waiting.length === 0
        ? undefined
        : `the schema registry at ${options.registryUrl} does not answer: no schema id yet for stream(s) ${waiting.join(', ')}; retrying`;
    },
    stop: stopAll,
  };
}
