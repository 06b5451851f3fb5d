/** The recovery policy: each kind of failure gets its action, with a capped, jittered backoff. */
import { describe, expect, it } from 'vitest';
import { SluiceError, TaskCorruptedError } from '../../../common/errors.ts';
import { backoffMs, decideRecovery } from '../../../processor/task/recovery-policy.ts';

const middle = () => 0.5;

describe('backoffMs', () => {
  it('doubles from 0.2 s up to a 10 s cap', () => {
    expect([0, 1, 2, 3, 5, 6, 20].map((attempt) => backoffMs(attempt, middle))).toEqual([
      200, 400, 800, 1600, 6400, 10_000, 10_000,
    ]);
  });

  it('jitters by a quarter either way', () => {
    expect(backoffMs(2, () => 0)).toBe(600);
    expect(backoffMs(2, () => 0.999_999)).toBeCloseTo(1000, 2);
    expect(backoffMs(30, () => 0.999_999)).toBeLessThan(12_500);
  });
});

describe('decideRecovery', () => {
  const registryDown = new SluiceError('REGISTRY_UNAVAILABLE', 'registry refused the connection');

  it('pauses a partition whose dependency is unavailable while the task is intact', () => {
    expect(decideRecovery(registryDown, { attempt: 0, taskIntact: true, random: middle })).toMatchObject({
      action: 'pause',
      delayMs: 200,
    });
    const later = decideRecovery(registryDown, { attempt: 4, taskIntact: true, random: middle });
    expect(later).toMatchObject({ action: 'pause', delayMs: 3200 });
    expect(later.reason).toMatch(/^unavailable: registry refused/);
  });

  it('restarts the task when the failure dropped its uncommitted work', () => {
    const kafkaDown = new SluiceError('KAFKA_UNAVAILABLE', 'committing: Kafka is unreachable');
    expect(decideRecovery(kafkaDown, { attempt: 1, taskIntact: false, random: middle })).toEqual({
      action: 'restart',
      delayMs: 400,
      wipeStore: false,
      reason: 'unavailable: committing: Kafka is unreachable',
    });
  });

  it('restarts a fenced task under the lease, and any unnamed failure, with backoff', () => {
    for (const error of [new SluiceError('KAFKA_FENCED', 'fenced'), new TypeError('bug'), 'a string']) {
      expect(decideRecovery(error, { attempt: 0, taskIntact: true, random: middle })).toMatchObject({
        action: 'restart',
        wipeStore: false,
      });
    }
  });

  it('wipes and restores a corrupted store', () => {
    const corrupted = new TaskCorruptedError('RocksDB read failed in /state/app/counts/3');
    expect(decideRecovery(corrupted, { attempt: 0, taskIntact: true, random: middle })).toMatchObject({
      action: 'restart',
      wipeStore: true,
    });
    expect(corrupted.message).toMatch(/wiped and restored from its changelog/);
  });

  it('stops the instance for what no retry fixes, saying what it was', () => {
    const denied = new SluiceError('KAFKA_AUTH_FAILED', 'committing: grant the ACLs');
    expect(decideRecovery(denied, { attempt: 0, taskIntact: true })).toEqual({
      action: 'stop-instance',
      reason: 'fatal: committing: grant the ACLs',
    });
    expect(
      decideRecovery(new SluiceError('INPUT_OUT_OF_RANGE', 'gone'), { attempt: 3, taskIntact: false }).action,
    ).toBe('stop-instance');
  });
});
