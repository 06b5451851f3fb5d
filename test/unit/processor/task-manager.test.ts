/**
 * The task manager applying the recovery policy, with a fake clock, fake task starts and fake
 * tasks: a pause keeps the task and reads again from its position, a fenced task restarts under
 * the lease only while the lease allows commits, a corrupted store is wiped, a fatal error stops
 * the instance. Each partition's state is checked as the status page and the gauge show it.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SluiceError, TaskCorruptedError } from '../../../common/errors.ts';
import type { ConsumedBatch } from '../../../common/kafka/index.ts';
import { silentLogger } from '../../../common/log.ts';
import { createProcessorMetrics } from '../../../processor/metrics.ts';
import type { Task } from '../../../processor/task/task.ts';
import { createTaskManager } from '../../../processor/task/task-manager.ts';
import type { StartedTask, startTask } from '../../../processor/task/task-starter.ts';
import { createFakeClock, settle } from '../../env/fake-clock.ts';

interface FakeTask {
  status: 'running' | 'failed' | 'closed';
  closed: boolean;
  batchError?: unknown;
  commitError?: unknown;
}

function fakeTask(behaviour: Partial<FakeTask> = {}): FakeTask & { task: Task } {
  const state: FakeTask = { status: 'running', closed: false, ...behaviour };
  let position = '10';
  const task = {
    get status() {
      return state.status;
    },
    inputTopics: ['in'],
    seekTarget: () => '10',
    inputPosition: () => position,
    store: undefined,
    refetch: () => '10',
    skipTo: () => 0n,
    async processBatch(batch: ConsumedBatch) {
      // an error the task survives (the registry) leaves it running; others fail it
      if (state.batchError) throw state.batchError;
      position = batch.nextOffset;
    },
    async commitIfDue() {
      if (!state.commitError) return;
      state.status = 'failed';
      throw state.commitError;
    },
    async close() {
      state.closed = true;
      state.status = 'closed';
    },
  } as unknown as Task;
  return Object.assign(state, { task });
}

/** A manager over one partition whose successive starts give what `starts` says (a task or an error). */
function setup(starts: (FakeTask & { task: Task })[] | unknown[]) {
  const clock = createFakeClock();
  const metrics = createProcessorMetrics(new Registry());
  const seeks: [number, string][] = [];
  const begun: { wipeStore?: boolean }[] = [];
  const fatal: unknown[] = [];
  let canCommit = true;
  const fakeStart: typeof startTask = async (_options, _partition, _lease, extra = {}) => {
    begun.push({ wipeStore: extra.wipeStore });
    extra.onRestoreProgress?.(5, 10);
    const next = starts.shift();
    if (!next || !(typeof next === 'object' && 'task' in next)) throw next;
    return { task: (next as { task: Task }).task, restored: 5 } satisfies StartedTask;
  };
  const manager = createTaskManager({
    ...({} as Parameters<typeof createTaskManager>[0]),
    plan: { id: 0, stores: [] } as unknown as Parameters<typeof createTaskManager>[0]['plan'],
    input: {
      seek: (topic, partition, offset) => {
        expect(topic).toBe('in');
        seeks.push([partition, offset]);
      },
    },
    logger: silentLogger(),
    metrics,
    clock,
    random: () => 0.5,
    startTask: fakeStart,
    onFatalError: (error) => fatal.push(error),
  });
  const lease = { epoch: () => 1, canCommit: () => canCommit };
  const batch: ConsumedBatch = {
    topic: 'in',
    partition: 0,
    fetchedOffset: '10',
    nextOffset: '12',
    records: [],
    highWatermark: '12',
    heartbeat: async () => undefined,
  };
  const gauge = async () =>
    Object.fromEntries((await metrics.tasks.get()).values.map(({ labels, value }) => [labels.state, value]));
  return {
    clock,
    manager,
    seeks,
    begun,
    fatal,
    lease,
    batch,
    gauge,
    setCanCommit: (value: boolean) => {
      canCommit = value;
    },
  };
}

describe('task manager recovery', () => {
  it('pauses a partition whose registry is unavailable, reads it again from the same position, and calls it running once a batch gets past it', async () => {
    const first = fakeTask({
      batchError: new SluiceError('REGISTRY_UNAVAILABLE', 'fetching writer schema 7 failed'),
    });
    const { clock, manager, seeks, begun, lease, batch, gauge } = setup([first]);
    manager.own([0], lease);
    await settle();
    expect(manager.statuses()).toMatchObject([
      { task: '0_0', state: 'running', restoreDone: 5, restoreTotal: 10 },
    ]);
    expect(seeks).toEqual([[0, '10']]);

    const delivered = manager.onBatch(batch);
    await settle();
    expect(manager.statuses()[0]).toMatchObject({
      state: 'suspended',
      reason: 'unavailable: fetching writer schema 7 failed',
    });
    expect(manager.paused()).toEqual([0]);
    expect(manager.failingSince()).toBeUndefined(); // a paused slot is not a failing one
    expect(await gauge()).toMatchObject({ running: 0, suspended: 1 });

    await clock.advance(199);
    expect(manager.statuses()[0]!.state).toBe('suspended');
    await clock.advance(1);
    await delivered;
    // read again from the same position, but suspended until a batch gets past it
    expect(seeks).toEqual([
      [0, '10'],
      [0, '10'],
    ]);
    expect(manager.paused()).toEqual([]);
    expect(manager.statuses()[0]).toMatchObject({ state: 'suspended' });
    first.batchError = undefined;
    await manager.onBatch(batch);
    expect(manager.statuses()[0]!.state).toBe('running');
    expect(begun).toHaveLength(1); // the task was kept: no restart, no restore
    expect(first.closed).toBe(false);
    expect(await gauge()).toMatchObject({ running: 1, suspended: 0 });
    await manager.closeAll({ commit: false });
    expect(first.closed).toBe(true);
  });

  it('restarts a fenced task under its lease, after the backoff and only while the lease allows commits', async () => {
    const fenced = fakeTask({ commitError: new SluiceError('KAFKA_FENCED', 'committing: fenced') });
    const second = fakeTask();
    const { clock, manager, begun, lease, setCanCommit } = setup([fenced, second]);
    manager.own([0], lease);
    await settle();
    await clock.advance(25); // the commit timer finds the fencing
    expect(manager.statuses()[0]).toMatchObject({ state: 'suspended', reason: 'fenced: committing: fenced' });
    expect(manager.failingSince()).toBe(25);
    expect(fenced.closed).toBe(true);

    setCanCommit(false);
    await clock.advance(5000);
    expect(begun).toHaveLength(1);
    expect(manager.statuses()[0]!.state).toBe('suspended');

    setCanCommit(true);
    await clock.advance(200);
    expect(begun).toHaveLength(2);
    expect(manager.statuses()[0]!.state).toBe('running');
    expect(manager.failingSince()).toBeUndefined();
    await manager.closeAll({ commit: false });
  });

  it('backs off longer at each failed start, then wipes a corrupted store', async () => {
    const busy = new SluiceError('STORE_IN_USE', 'the store is locked');
    const corrupted = new TaskCorruptedError('RocksDB read failed');
    const { clock, manager, begun, lease } = setup([busy, busy, corrupted, fakeTask()]);
    manager.own([0], lease);
    await settle();
    expect(manager.statuses()[0]!.state).toBe('suspended');
    await clock.advance(200); // attempt 0: 200 ms
    expect(begun).toHaveLength(2);
    await clock.advance(399); // attempt 1: 400 ms
    expect(begun).toHaveLength(2);
    await clock.advance(1);
    expect(begun).toHaveLength(3);
    expect(manager.statuses()[0]).toMatchObject({ state: 'corrupted', attempt: 3 });
    await clock.advance(1600); // attempt 3: 1.6 s
    expect(begun.map((start) => start.wipeStore ?? false)).toEqual([false, false, false, true]);
    expect(manager.statuses()[0]!.state).toBe('running');
    await manager.closeAll({ commit: false });
    expect(manager.statuses()).toEqual([]);
  });

  it('stops the instance on a fatal error and never restarts the task', async () => {
    const denied = new SluiceError('KAFKA_AUTH_FAILED', 'connecting: grant the ACLs');
    const { clock, manager, begun, fatal, lease } = setup([denied, fakeTask()]);
    manager.own([0], lease);
    await settle();
    expect(fatal).toEqual([denied]);
    await clock.advance(60_000);
    expect(begun).toHaveLength(1);
    expect(manager.statuses()[0]).toMatchObject({ state: 'suspended', reason: 'connecting: grant the ACLs' });
    await manager.closeAll({ commit: false });
  });
});
