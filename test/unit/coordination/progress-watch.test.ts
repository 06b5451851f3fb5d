import { describe, expect, it } from 'vitest';
import { createProgressWatch } from '../../../processor/coordination/progress-watch.ts';
import { createFakeClock } from '../../env/fake-clock.ts';

describe('progress watch', () => {
  it('counts the time since Kafka last answered a fetch', async () => {
    const clock = createFakeClock(10_000);
    const watch = createProgressWatch({ clock, intervalMs: 500 });
    let lastFetchAt = clock.now();
    for (let i = 0; i < 4; i++) {
      await clock.advance(500);
      lastFetchAt = clock.now() - 50;
      expect(watch.check({ lastFetchAt, failingSince: undefined, restoring: false })).toBe(50);
    }
    for (let i = 1; i <= 6; i++) {
      await clock.advance(500);
      expect(watch.check({ lastFetchAt, failingSince: undefined, restoring: false })).toBe(50 + 500 * i);
    }
  });

  it('counts from when it was armed before the first fetch, and counts failing tasks', async () => {
    const clock = createFakeClock(0);
    const watch = createProgressWatch({ clock, intervalMs: 500 });
    await clock.advance(500);
    expect(watch.check({ lastFetchAt: undefined, failingSince: undefined, restoring: false })).toBe(500);
    const failingSince = clock.now();
    await clock.advance(500);
    expect(watch.check({ lastFetchAt: clock.now(), failingSince, restoring: false })).toBe(500);
    await clock.advance(500);
    expect(watch.check({ lastFetchAt: clock.now(), failingSince, restoring: false })).toBe(1000);
  });

  it('does not count an event-loop stall of its own process as lack of progress', async () => {
    const clock = createFakeClock(0);
    const watch = createProgressWatch({ clock, intervalMs: 500 });
    await clock.advance(500);
    const lastFetchAt = clock.now();
    expect(watch.check({ lastFetchAt, failingSince: undefined, restoring: false })).toBe(0);
    await clock.advance(3000); // no check for 3 s: the loop was blocked
    expect(watch.check({ lastFetchAt, failingSince: undefined, restoring: false })).toBe(0);
    await clock.advance(500);
    expect(watch.check({ lastFetchAt, failingSince: undefined, restoring: false })).toBe(500);
  });

  it('does not count a restore: the input is not read until the tasks run', async () => {
    const clock = createFakeClock(0);
    const watch = createProgressWatch({ clock, intervalMs: 500 });
    for (let i = 0; i < 10; i++) {
      await clock.advance(500);
      expect(watch.check({ lastFetchAt: undefined, failingSince: undefined, restoring: true })).toBe(0);
    }
    await clock.advance(500);
    expect(watch.check({ lastFetchAt: undefined, failingSince: undefined, restoring: false })).toBe(500);
  });
});
