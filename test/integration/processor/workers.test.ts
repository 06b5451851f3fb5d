/**
 * A processor instance spreading its tasks over two worker threads (processor.workers = 2), on
 * the real broker, registry and Postgres: the output exact against the reference, shutdown
 * committing the workers' pending work, state queries and /metrics answered from the workers, a
 * SIGKILLed cluster-mode active replaced by its standby, and a crashing worker stopping the
 * instance.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { logLines } from './logs.ts';
import { expectedStats, sortStats } from './reference.ts';
import { instanceTasks, steadyEvents } from './task-status.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const twoWorkers = ['--workers', '2'];

async function metricSamples(address: string, name: string): Promise<{ line: string; value: number }[]> {
  const text = await (await fetch(`${address}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => ({ line, value: Number(line.split(' ').pop()) }));
}
const total = (samples: { value: number }[]) => samples.reduce((sum, { value }) => sum + value, 0);

/** The worker running each partition's task now: the latest "task running" log line of each. */
function workerByPartition(output: string): Map<number, number> {
  const latest = new Map<number, number>();
  for (const line of logLines(output).filter((entry) => entry.msg === 'task running'))
    latest.set(line.partition as number, line.worker as number);
  return latest;
}

describe('two worker threads, group mode (exactly once)', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 4 });
  });
  afterAll(async () => fixture?.cleanup());

  it('stops on SIGTERM losing nothing, restarts exactly, and answers state queries and /metrics from the workers', {
    timeout: 180_000,
  }, async () => {
    const events = steadyEvents(31, 12_000);
    // commits only at the first batch and at shutdown: what SIGTERM commits is everything else
    const first = await fixture.startProcessor({
      name: 'first',
      args: [...twoWorkers, '--commit-interval-ms', '600000'],
    });
    await fixture.produce(events.slice(0, 400));
    const recordsIn = async () =>
      total(await metricSamples(first.address, 'sluice_processor_records_in_total'));
    await waitFor('the first records processed', async () => (await recordsIn()) === 400);
    await fixture.produce(events.slice(400));
    await waitFor('every record processed', async () => (await recordsIn()) === events.length, {
      timeoutMs: 60_000,
    });
    expect(await fixture.caughtUp()).toBe(false);
    // the tasks run in both workers (each a member of the group: Kafka balances them)
    const placed = workerByPartition(first.output());
    expect([...placed.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(new Set(placed.values())).toEqual(new Set([0, 1]));
    // one set of metrics for the instance: the task gauges summed over the workers, process metrics once
    const running = (await metricSamples(first.address, 'sluice_processor_tasks')).filter(({ line }) =>
      line.includes('state="running"'),
    );
    expect(total(running)).toBe(4);
    expect(await metricSamples(first.address, 'sluice_process_cpu_seconds_total')).toHaveLength(1);

    expect(await first.stop()).toBe(0);
    // SIGTERM committed the pending work. Its offsets become visible to an outside reader only once
    // the broker wrote the transactions' markers, which a commit does not wait for (a new owner
    // waits: its producer's init, task-starter.ts step 1), so this reader waits for them
    await fixture.waitCaughtUp(20_000);

    // again on the same state: the open windows are answered by the worker owning each key
    const second = await fixture.startProcessor({ name: 'second', args: twoWorkers });
    await fixture.waitCaughtUp(90_000);
    const expected = expectedStats(await fixture.inputRecords());
    expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
    await waitFor('all tasks running', async () =>
      (await instanceTasks(second.address)).every((task) => task.state === 'running'),
    );
    const status = (await (await fetch(`${second.address}/v1/status`)).json()) as {
      instance: { workers: number; tasks: unknown[] };
    };
    expect(status.instance).toMatchObject({ workers: 2 });
    expect(status.instance.tasks).toHaveLength(4);
    expect(expected.open.length).toBeGreaterThan(20);
    for (const open of expected.open.slice(0, 20)) {
      const key = encodeURIComponent(JSON.stringify([open.userTenantDomain, open.apiName]));
      const answer = (await (
        await fetch(`${second.address}/v1/apps/${fixture.appId}/stores/aggregates/keys/${key}`)
      ).json()) as { windows: { start: number; value: { requests: number } }[] };
      expect(answer.windows.find((window) => window.start === open.windowStart)?.value.requests).toBe(
        open.requests,
      );
    }
    expect(await second.stop()).toBe(0);
  });
});

describe('two worker threads: SIGTERM while the workers still join the group', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 4 });
  });
  afterAll(async () => fixture?.cleanup());

  it('stops cleanly (exit 0, not killed by the signal) and a restart finishes the output exactly', {
    timeout: 180_000,
  }, async () => {
    await fixture.produce(steadyEvents(7, 3_000));
    // the threads are up; joining the group and starting the tasks follow: the signal comes at a
    // moment of the test's random choice in that span (or just after it)
    const starting = await fixture.startProcessor({
      name: 'starting',
      args: twoWorkers,
      readyOutput: /worker threads ready/,
    });
    const delayMs = Math.floor(Math.random() * 3_000);
    console.log(`SIGTERM ${delayMs} ms after the worker threads were ready`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, delayMs));
    expect(await starting.stop(40_000)).toBe(0);
    expect(starting.output()).toMatch(/"msg":"stopped"/);

    const restarted = await fixture.startProcessor({ name: 'restarted', args: twoWorkers });
    await fixture.waitCaughtUp(90_000);
    expect(await restarted.stop()).toBe(0);
    expect(sortStats(await fixture.outputStats())).toEqual(expectedStats(await fixture.inputRecords()).stats);
  });
});

/** A Node.js 20 on the PATH (package.json's engines accepts it; the tests themselves run on 24). */
function node20(): string | undefined {
  const found = execFileSync('sh', ['-c', 'which -a node || true'], { encoding: 'utf8' }).split('\n');
  return found
    .filter(Boolean)
    .find((binary) =>
      execFileSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8' }).startsWith('20.'),
    );
}
const oldNode = node20();

describe.skipIf(oldNode === undefined)(
  `two worker threads on Node.js 20, from the sources${oldNode ? '' : ' (skipped: no Node.js 20 on the PATH)'}`,
  () => {
    let fixture: AnalyticsFixture;
    beforeAll(async () => {
      fixture = await createAnalyticsFixture({ partitions: 4 });
    });
    afterAll(async () => fixture?.cleanup());

    it('start their tasks (tsx registered in each thread) and compute the exact output', {
      timeout: 180_000,
    }, async () => {
      await fixture.produce(steadyEvents(9, 3_000));
      const processor = await fixture.startProcessor({ name: 'node-20', args: twoWorkers, node: oldNode });
      await fixture.waitCaughtUp(90_000);
      expect(new Set(workerByPartition(processor.output()).values())).toEqual(new Set([0, 1]));
      expect(await processor.stop()).toBe(0);
      expect(sortStats(await fixture.outputStats())).toEqual(
        expectedStats(await fixture.inputRecords()).stats,
      );
    });
  },
);

describe('two worker threads, cluster mode: the active SIGKILLed under load', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 4, slots: 1 });
  });
  afterAll(async () => fixture?.cleanup());

  it('the standby (also with two workers) takes over; the output stays exact', {
    timeout: 240_000,
  }, async () => {
    const active = await fixture.startProcessor({ name: 'active', slot: 0, args: twoWorkers });
    await waitFor('the active to hold the lease', async () =>
      (await fixture.leases.leases(fixture.appId)).some((lease) => lease.holderAddress === active.address),
    );
    const standby = await fixture.startProcessor({ name: 'standby', slot: 0, args: twoWorkers });
    const events = takeRequests(
      { seed: 5, tenants: 30, apis: 4, startTime: Date.UTC(2026, 0, 1), stepMs: 20, jitterMs: 8_000 },
      60_000,
    );
    const epochs = fixture.watchEpochs();
    const feeder = fixture.feed(events, 2000);
    try {
      await waitFor('some input to flow', () => feeder.sent() > 6000, { timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 1000)));
      const { epoch } = (await fixture.leases.leases(fixture.appId)).find((lease) => lease.slot === 0)!;
      active.signal('SIGKILL');
      await active.exited;
      await waitFor('the standby to commit under a new epoch', () =>
        epochs.firstCommitAbove([0, 1, 2, 3], epoch!),
      );
      await waitFor('more input after the takeover', () => feeder.sent() > 12_000, { timeoutMs: 60_000 });
    } finally {
      await feeder.stop();
      await epochs.stop();
    }
    await fixture.waitCaughtUp(120_000);
    const expected = expectedStats(await fixture.inputRecords());
    expect(expected.stats.length).toBeGreaterThan(200);
    expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
    // the new active ran the slot's partitions in both of its workers
    // the new active balances the slot's partitions over its workers, two each
    const placed = [...workerByPartition(standby.output()).values()];
    expect(placed.filter((worker) => worker === 0)).toHaveLength(2);
    expect(placed.filter((worker) => worker === 1)).toHaveLength(2);
    expect((await instanceTasks(standby.address)).map((task) => task.state)).toEqual(
      Array(4).fill('running'),
    );
    expect(await standby.stop()).toBe(0);
  });
});

describe('a worker thread that crashes', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture({
      partitions: 4,
      app: join(repo, 'test', 'integration', 'processor', 'apps', 'worker-crash-app.ts'),
      extraStreams: {
        Copies: {
          schema: 'schemas/Request.avsc',
          partitionKey: 'userTenantDomain',
          eventTime: 'requestTimestamp',
        },
      },
    });
  });
  afterAll(async () => fixture?.cleanup());

  it('stops the whole instance with a non-zero exit, never runs on with fewer tasks', async () => {
    const processor = await fixture.startProcessor({ args: twoWorkers });
    const events = steadyEvents(8, 2000);
    await fixture.produce(events);
    await waitFor('the copies to flow', async () => (await fixture.readStream('Copies')).length > 0);
    await fixture.produce([{ ...events[0]!, apiName: 'crash-worker' }]);
    const code = await Promise.race([
      processor.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000)),
    ]);
    expect(code).toBe(1);
    expect(processor.output()).toMatch(/a worker thread failed: the instance stops/);
    expect(processor.output()).toMatch(/a bug outside the task loop/);
  });
});
