/** A Clock for unit tests: time moves only when the test says so, firing due timers in order. */
import type { Clock, Timer } from '../../common/clock.ts';

interface Scheduled {
  at: number;
  every?: number;
  work: () => void;
  cancelled: boolean;
}

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due (and the promises they start). */
  advance(ms: number): Promise<void>;
}

/** Lets pending promise callbacks run (a few turns of the microtask and macrotask queues). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function createFakeClock(start = 0): FakeClock {
  let now = start;
  const timers: Scheduled[] = [];
  const schedule = (entry: Scheduled): Timer => {
    timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  };
  return {
    now: () => now,
    every: (ms, work) => schedule({ at: now + ms, every: ms, work, cancelled: false }),
    after: (ms, work) => schedule({ at: now + ms, work, cancelled: false }),
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers
          .filter((timer) => !timer.cancelled && timer.at <= until)
          .sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        if (due.every === undefined) due.cancelled = true;
        else due.at += due.every;
        due.work();
        await settle();
      }
      now = until;
      await settle();
    },
  };
}
