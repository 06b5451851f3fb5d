/**
 * Exponential backoff with a cap and ±25 % jitter, so that the parts (and instances) that failed
 * together do not retry together. Pure: randomness comes from outside.
 */

export interface BackoffBounds {
  /** The first delay (attempt 0), before jitter. */
  baseMs: number;
  /** No delay is longer than this (+25 % jitter). */
  capMs: number;
}

export function jitteredBackoffMs(
  attempt: number,
  bounds: BackoffBounds,
  random: () => number = Math.random,
): number {
  return Math.min(bounds.capMs, bounds.baseMs * 2 ** Math.max(0, attempt)) * (0.75 + random() * 0.5);
}
