/** A partition's task states: the allowed transitions, why it is suspended, its restore progress. */
import { describe, expect, it } from 'vitest';
import { TaskLifecycle } from '../../../processor/task/task-lifecycle.ts';
import { createFakeClock } from '../../env/fake-clock.ts';

describe('TaskLifecycle', () => {
  it('goes created → restoring → running → suspended → running → closed, saying why and since when', async () => {
    const clock = createFakeClock(1000);
    let changes = 0;
    const task = new TaskLifecycle(
      3,
      () => clock.now(),
      () => changes++,
    );
    expect(task.status()).toMatchObject({ partition: 3, state: 'created', since: 1000 });
    task.to('restoring');
    task.restoreProgress(40, 100);
    expect(task.status()).toMatchObject({ state: 'restoring', restoreDone: 40, restoreTotal: 100 });
    await clock.advance(500);
    task.to('running');
    expect(task.status()).toMatchObject({ state: 'running', since: 1500, restoreDone: 40 });
    task.to('suspended', 'unavailable: registry down');
    expect(task.status()).toMatchObject({ state: 'suspended', reason: 'unavailable: registry down' });
    task.to('running');
    expect(task.status().reason).toBeUndefined();
    task.to('closed');
    expect(changes).toBe(5);
  });

  it('restores again after a failure and after a corruption, from a fresh progress count', () => {
    const task = new TaskLifecycle(
      0,
      () => 0,
      () => undefined,
    );
    task.to('restoring');
    task.restoreProgress(10, 10);
    task.to('running');
    task.to('suspended', 'failed: aborted transaction');
    task.to('restoring');
    expect(task.status()).toMatchObject({ restoreDone: 0, restoreTotal: 0 });
    task.to('corrupted', 'corrupted: RocksDB read failed');
    expect(task.status()).toMatchObject({ state: 'corrupted', reason: 'corrupted: RocksDB read failed' });
    task.to('restoring');
    task.to('running');
  });

  it('refuses transitions the machine does not have', () => {
    const task = new TaskLifecycle(
      7,
      () => 0,
      () => undefined,
    );
    expect(() => task.to('running')).toThrow(/task 7: illegal transition created → running/);
    task.to('closed');
    expect(() => task.to('restoring')).toThrow(/closed → restoring/);
    expect(() => task.to('closed')).toThrow(/closed → closed/);
  });
});
