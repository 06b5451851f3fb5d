/**
 * Input records removed by retention while the app was stopped, below where it had to continue:
 * with `offsetReset: fail` the processor stops (exit 1) and commits nothing past the gap; with
 * the default `earliest` it continues from the log start without stalling, says so in its status
 * and metrics, and its output equals the reference computed on the records it could read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { expectedStats, sortStats } from './reference.ts';
import { instanceTasks, steadyEvents } from './task-status.ts';

describe('processor input offsets out of range', () => {
  let fixture: AnalyticsFixture | undefined;
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('fails on request, else continues from the log start: no stall, output exact on what remains', async () => {
    const f = await createAnalyticsFixture({ partitions: 2, slots: 1 });
    fixture = f;
    const input = steadyEvents(41, 6000);
    await f.produce(input.slice(0, 3000));
    const first = await f.startProcessor({ name: 'first', slot: 0 });
    await f.waitCaughtUp(120_000);
    expect(await first.stop()).toBe(0);

    // while the app is stopped: more input arrives, and retention removes part of it unprocessed
    await f.produce(input.slice(3000));
    const committed = await f.admin.committedOffsets(f.appId, f.inputTopic);
    const ends = await f.admin.topicOffsets(f.inputTopic);
    const before = ends.map(({ partition, high }) => {
      const from = BigInt(committed.find((entry) => entry.partition === partition)!.offset);
      return { partition, offset: (from + (BigInt(high) - from) / 2n).toString() };
    });
    const all = await f.inputRecords();
    await f.admin.deleteRecords(f.inputTopic, before);
    const gone = (record: { partition: number; offset: bigint }) =>
      record.offset >= BigInt(committed.find((entry) => entry.partition === record.partition)!.offset) &&
      record.offset < BigInt(before.find((entry) => entry.partition === record.partition)!.offset);

    // offsetReset: fail stops the instance and commits nothing past the gap
    let failure: string;
    try {
      const strict = await f.startProcessor({
        name: 'strict',
        slot: 0,
        env: { SLUICE_OFFSET_RESET: 'fail' },
      });
      expect(await strict.exited).toBe(1);
      failure = strict.output();
    } catch (error) {
      failure = (error as Error).message; // it may exit before its first readiness answer
    }
    expect(failure).toMatch(/committed offset \d+ is gone .*processor\.offsetReset/);
    expect(await f.admin.committedOffsets(f.appId, f.inputTopic)).toEqual(committed);

    // the default, earliest: continues from the log start
    const second = await f.startProcessor({ name: 'second', slot: 0 });
    await f.waitCaughtUp(120_000);
    expect(
      (await instanceTasks(second.address)).map((task) => [task.partition, task.state, task.inputReset?.to]),
    ).toEqual(before.map(({ partition, offset }) => [partition, 'running', offset]));
    const metrics = await (await fetch(`${second.address}/metrics`)).text();
    for (const { partition } of before) {
      expect(metrics).toMatch(
        new RegExp(`sluice_processor_input_offset_resets_total\\{[^}]*partition="${partition}"[^}]*\\} 1\\n`),
      );
    }
    const skipped = all.filter(gone).length;
    expect(skipped).toBeGreaterThan(0);
    const skippedMetric = [
      ...metrics.matchAll(/sluice_processor_input_skipped_records_total\{[^}]*\} (\d+)/g),
    ];
    expect(skippedMetric.reduce((sum, match) => sum + Number(match[1]), 0)).toBe(skipped);

    const expected = expectedStats(all.filter((record) => !gone(record)));
    expect(sortStats(await f.outputStats())).toEqual(expected.stats);
    expect(await second.stop()).toBe(0);
  }, 600_000);
});
