/**
 * Whether an active makes progress on its partitions, for the lease: an active that cannot reach
 * Kafka (no fetch answered) or whose tasks keep failing for longer than the bound should hand
 * its slot to a standby that can do better.
 *
 * A stall of this process's own event loop (GC, a slow user function) is not a lack of progress:
 * nothing could be observed during it, so the bound counts again from the end of the stall. Nor
 * is a restore: its tasks read the changelog, not the input, so the input's fetch clock waits.
 */
import type { Clock } from '../../common/clock.ts';

export interface ProgressSignals {
  /** When Kafka last answered a fetch of the active's input (clock.now()); undefined before the first. */
  lastFetchAt: number | undefined;
  /** Since when some owned partition keeps failing to start or run; undefined when none does. */
  failingSince: number | undefined;
  /** Some task is restoring its store (it reads the changelog, not the input, until it runs). */
  restoring: boolean;
}

export interface ProgressWatch {
  /** Milliseconds without progress (0 when progressing); call it about every `intervalMs`. */
  check(signals: ProgressSignals): number;
}

export function createProgressWatch(options: { clock: Clock; intervalMs: number }): ProgressWatch {
  const { clock, intervalMs } = options;
  const armedAt = clock.now();
  let lastCheckAt = armedAt;
  let observableSince = armedAt;
  return {
    check({ lastFetchAt, failingSince, restoring }) {
      const now = clock.now();
      // a check much later than scheduled: the loop was stalled, and saw nothing meanwhile
      if (restoring || now - lastCheckAt > 2 * intervalMs) observableSince = now;
      lastCheckAt = now;
      const sinceFetch = now - Math.max(lastFetchAt ?? armedAt, observableSince);
      const sinceFailing = failingSince === undefined ? 0 : now - Math.max(failingSince, observableSince);
      return Math.max(0, sinceFetch, sinceFailing);
    },
  };
}
