import { describe, expect, it } from 'vitest';
import {
  defineApp,
  hopping,
  minutes,
  seconds,
  session,
  stream,
  tumbling,
} from '../../../processor/app/define.ts';
import { compileTopology, type GroupingPlan } from '../../../processor/app/topology.ts';
import {
  type AggregateOperator,
  createAggregateOperator,
  type StoredAggregate,
} from '../../../processor/operators/aggregate-operator.ts';
import { encodeGroup } from '../../../processor/state/key-codec.ts';
import { createMemoryStore as memoryStore } from '../../../processor/state/memory-store.ts';
import { jsonCodec, WriteCache } from '../../../processor/state/write-cache.ts';
import type { WindowSpec } from '../../../processor/windows/windows.ts';
import { fakeStream, streamsOf } from './stream-fixtures.ts';

interface Event {
  tenant: string;
  value: number;
}

function planFor(
  window: WindowSpec | undefined,
  emit: 'onWindowClose' | 'onUpdate' = 'onWindowClose',
): GroupingPlan {
  const app = defineApp({
    id: 'unit',
    source: stream<Event>('E'),
    pipeline: (events) => {
      const grouped = events.groupBy('tenant');
      const aggregate = (agg: { count(): unknown; sum(of: (e: Event) => number): unknown }) => ({
        n: agg.count(),
        total: agg.sum((e) => e.value),
      });
      const result = window
        ? grouped.window(window).aggregate(aggregate as never, { emit })
        : grouped.aggregate(aggregate as never);
      return result.to(stream('Out'));
    },
  });
  const streams = streamsOf(
    fakeStream('E', ['tenant', 'value'], { partitionKey: 'tenant', eventTime: 'value' }),
    fakeStream('Out', ['tenant'], { partitionKey: 'tenant' }),
  );
  return [...compileTopology(app, streams).groupings.values()][0]!;
}

/** Drives an operator the way a task does: stream time, key loading, add, close. */
function harness(plan: GroupingPlan) {
  const cache = new WriteCache<StoredAggregate>(memoryStore(), jsonCodec(), 1000);
  const operator: AggregateOperator = createAggregateOperator(plan, cache);
  let streamTime = -1;
  return {
    async add(tenant: string, timestamp: number, value = 1) {
      streamTime = Math.max(streamTime, timestamp);
      const item = {
        group: [tenant],
        groupBytes: encodeGroup([tenant]),
        timestamp,
        event: { tenant, value },
      };
      await cache.load(operator.keysFor(item, streamTime));
      return operator.add(item, streamTime);
    },
    async close() {
      await cache.load(operator.dueKeys(streamTime));
      return [...operator.closeDue(streamTime), ...operator.takeUpdates()].map((e) => ({
        tenant: e.group[0],
        window: e.window,
        ...e.result,
      }));
    },
  };
}

describe('tumbling window aggregation', () => {
  const plan = planFor(tumbling({ size: minutes(1), grace: seconds(10) }));

  it('emits a window once, when stream time reaches its end + grace, with out-of-order records counted', async () => {
    const h = harness(plan);
    await h.add('a', 10_000, 1);
    await h.add('a', 65_000, 10); // next window; [0, 60 s) stays open through the grace
    expect(await h.add('a', 59_999, 2)).toBe(true); // out of order, within grace
    expect(await h.close()).toEqual([]);
    await h.add('a', 69_999, 100);
    expect(await h.close()).toEqual([]);
    await h.add('b', 70_000, 1000); // stream time 70 s = 60 s + 10 s grace: closes [0, 60 s)
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 60_000 }, n: 2, total: 3 }]);
    expect(await h.close()).toEqual([]); // never twice
  });

  it('refuses a record whose window has closed (late), and emits per key in window order', async () => {
    const h = harness(plan);
    await h.add('a', 1_000);
    await h.add('a', 61_000);
    await h.add('a', 200_000); // closes [0,60) and [60,120)
    expect(await h.add('a', 5_000)).toBe(false);
    const emitted = await h.close();
    expect(emitted.map((e) => e.window?.start)).toEqual([0, 60_000]);
  });
});

describe('hopping window aggregation', () => {
  it('counts a record in every window holding it, each emitted on its own close', async () => {
    const h = harness(planFor(hopping({ size: minutes(1), advance: seconds(30) })));
    await h.add('a', 45_000, 1); // windows [0,60) and [30,90)
    await h.add('a', 60_000, 1); // stream time 60 s: closes [0,60) (no grace)
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 60_000 }, n: 1, total: 1 }]);
    await h.add('a', 90_000, 1);
    expect(await h.close()).toEqual([
      { tenant: 'a', window: { start: 30_000, end: 90_000 }, n: 2, total: 2 },
    ]);
  });
});

describe('session window aggregation', () => {
  const plan = planFor(session({ gap: seconds(30), grace: seconds(5) }));

  it('merges sessions that a record bridges and emits the merged session once it closes', async () => {
    const h = harness(plan);
    await h.add('a', 0, 1);
    await h.add('a', 31_000, 2); // more than the 30 s gap away: a second session; the first is still open
    expect(await h.close()).toEqual([]);
    await h.add('a', 15_000, 4); // within 30 s of both: one session [0, 31 s]
    await h.add('b', 65_999, 0); // the merged session closes at 31 + 30 + 5 = 66 s
    expect(await h.close()).toEqual([]);
    await h.add('b', 66_000, 0);
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 31_000 }, n: 3, total: 7 }]);
  });

  it('closes a session gap + grace after its last record even when another arrives later', async () => {
    const h = harness(plan);
    await h.add('a', 0, 1);
    await h.add('a', 50_000, 2); // the session [0, 0] closed at 35 s, before this record
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 0 }, n: 1, total: 1 }]);
  });

  it('calls a record late once a session holding only it would already be closed', async () => {
    const h = harness(plan);
    await h.add('a', 100_000);
    expect(await h.add('b', 64_999)).toBe(false); // 64 999 + 35 000 ≤ 100 000
    expect(await h.add('b', 65_001)).toBe(true);
  });
});

describe('emit on update and running aggregates', () => {
  it('emits the current value after each change and nothing more at close', async () => {
    const h = harness(planFor(tumbling({ size: minutes(1) }), 'onUpdate'));
    await h.add('a', 1_000, 5);
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 60_000 }, n: 1, total: 5 }]);
    await h.add('a', 2_000, 5);
    expect(await h.close()).toEqual([{ tenant: 'a', window: { start: 0, end: 60_000 }, n: 2, total: 10 }]);
    await h.add('a', 120_000, 1); // closes [0,60): already emitted, so only the new window's update
    expect(await h.close()).toEqual([
      { tenant: 'a', window: { start: 120_000, end: 180_000 }, n: 1, total: 1 },
    ]);
  });

  it('keeps a running aggregate per key without windows', async () => {
    const h = harness(planFor(undefined));
    await h.add('a', 1, 1);
    await h.add('a', 999_999_999, 2);
    expect(await h.close()).toEqual([{ tenant: 'a', window: undefined, n: 2, total: 3 }]);
  });
});
