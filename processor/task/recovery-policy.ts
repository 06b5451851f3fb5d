/**
 * The one recovery policy of the processor: what to do when a task's batch, commit or start
 * fails, from the error's kind (common/errors.ts) and whether the task's uncommitted work
 * survived. Pure: the task manager applies the decision; time and randomness come from outside.
 *
 * | kind        | task intact (nothing changed) | task failed (uncommitted work dropped)      |
 * |-------------|-------------------------------|---------------------------------------------|
 * | unavailable | pause: refetch after backoff  | restart from store + changelog, after backoff |
 * | failed      | restart after backoff         | restart after backoff                        |
 * | fenced      | restart under our lease (our new producer fences the other back, issue 20) |
 * | corrupted   | wipe the store, restore it from the changelog, after backoff                |
 * | fatal       | stop the instance: exit 1 with the error's message                         |
 */

import { jitteredBackoffMs } from '../../common/backoff.ts';
import { describeError, type ErrorKind, kindOf } from '../../common/errors.ts';

export type RecoveryDecision =
  /** Keep the task and its state; read the partition again from the task's position after `delayMs`. */
  | { action: 'pause'; delayMs: number; reason: string }
  /** Close the task and start a new one after `delayMs` (with `wipeStore`, from an empty store). */
  | { action: 'restart'; delayMs: number; wipeStore: boolean; reason: string }
  /** Nothing here can fix it: the instance stops and says what to fix. */
  | { action: 'stop-instance'; reason: string };

/** Restart backoff bounds: the first retry is quick, a lasting fault is not hammered. */
export const taskBackoff = { baseMs: 200, capMs: 10_000 } as const;

/** 0.2 s doubling per attempt up to 10 s, jittered (common/backoff.ts). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return jitteredBackoffMs(attempt, taskBackoff, random);
}

export function decideRecovery(
  error: unknown,
  context: {
    /** Consecutive failures of this partition so far (0 for the first). */
    attempt: number;
    /** True when the failure happened before the task changed anything (its state is still good). */
    taskIntact: boolean;
    random?: () => number;
  },
): RecoveryDecision {
  const kind: ErrorKind = kindOf(error);
  const delayMs = backoffMs(context.attempt, context.random);
  const reason = `${kind}: ${describeError(error)}`;
  switch (kind) {
    case 'fatal':
      return { action: 'stop-instance', reason };
    case 'corrupted':
      return { action: 'restart', delayMs, wipeStore: true, reason };
    case 'unavailable':
      return context.taskIntact
        ? { action: 'pause', delayMs, reason }
        : { action: 'restart', delayMs, wipeStore: false, reason };
    default:
      return { action: 'restart', delayMs, wipeStore: false, reason };
  }
}
