/**
 * Time for the parts whose behaviour depends on it (leases, progress checks, backoff): a
 * monotonic `now()` and timers, passed in so that unit tests drive them with a fake clock.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (not wall-clock time: never compare across machines). */
  now(): number;
  /** Runs `work` every `ms` until cancelled; the timer does not keep the process alive. */
  every(ms: number, work: () => void): Timer;
  /** Runs `work` once after `ms`; the timer does not keep the process alive. */
  after(ms: number, work: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every(ms, work) {
    const timer = setInterval(work, ms);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
  after(ms, work) {
    const timer = setTimeout(work, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
