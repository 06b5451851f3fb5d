/**
 * The stream–stream join's buffer logic with injected time (each item carries the stream time
 * the task had when it was seen, and stream time moves only as the test says): records at the
 * window's bounds, exactly `within` apart, one ms beyond, within grace, after grace (late), the
 * null results of left and outer joins when a window closes (never before), the purge of closed
 * records, and the index rebuilt from a store (a restore). Compilation refusals and describe too.
 */
import { describe, expect, it } from 'vitest';
import { defineApp, stream } from '../../../processor/app/define.ts';
import type { StreamJoinNode } from '../../../processor/app/graph.ts';
import type { StreamJoinOptions } from '../../../processor/app/pipeline.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import { describeTopology } from '../../../processor/app/topology-description.ts';
import type { Item } from '../../../processor/operators/operator.ts';
import {
  type BufferedRecords,
  createStreamJoin,
  type JoinSideState,
} from '../../../processor/operators/stream-join.ts';
import { createMemoryStore } from '../../../processor/state/memory-store.ts';
import { jsonCodec, WriteCache } from '../../../processor/state/write-cache.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, refusal, requestFields, streamsOf } from './stream-fixtures.ts';

const within = 100;
const grace = 50;
type Click = { user: string; id: string };
type View = { user: string; page: string };

function harness(
  type: StreamJoinNode['type'],
  stores = [createMemoryStore('left'), createMemoryStore('right')],
) {
  const deadLetters: { stage: string; offset: string; message: string }[] = [];
  const sides = stores.map(
    (store): JoinSideState => ({ store, cache: new WriteCache<BufferedRecords>(store, jsonCodec(), 1000) }),
  );
  const join = createStreamJoin(
    {
      type,
      on: { left: 'user', right: 'user' },
      withinMs: within,
      graceMs: grace,
      joiner: (left, right) => ({
        click: (left as Click | null)?.id ?? null,
        view: (right as View | null)?.page ?? null,
      }),
    },
    [sides[0]!, sides[1]!],
    {
      output: () => undefined,
      deadLetter: (origin, stage, error) =>
        deadLetters.push({ stage, offset: origin.offset, message: (error as Error).message }),
    },
  );
  let offset = 0;
  let streamTime = -1;
  const item = (side: 0 | 1, value: Click | View, timestamp: number): Item => {
    streamTime = Math.max(streamTime, timestamp);
    return {
      value,
      timestamp,
      streamTime,
      partitionKey: value.user,
      origin: {
        topic: side === 0 ? 'clicks' : 'views',
        partition: 0,
        offset: String(offset++),
        key: null,
        value: null,
        headers: {},
      },
      derived: false,
      side,
    };
  };
  /** One batch as the runner gives it: load, process, then what closes at the batch's stream time. */
  const batch = (...records: [0 | 1, Click | View, number][]) => run(records, false);
  /** As a batch of one input feeding both sides reaches the join: all left items, then all right ones. */
  const batchBySide = (...records: [0 | 1, Click | View, number][]) => run(records, true);
  const run = async (records: [0 | 1, Click | View, number][], bySide: boolean) => {
    const seen = records.map(([side, value, timestamp]) => item(side, value, timestamp));
    const items = bySide ? [...seen].sort((a, b) => (a.side ?? 0) - (b.side ?? 0)) : seen;
    await join.load!(items);
    const out = join.process(items);
    await join.loadDue!(streamTime);
    out.push(
      ...join.onStreamTime!(streamTime, items.at(-1) ?? item(0, { user: 'none', id: 'x' }, streamTime)),
    );
    return out.map((each) => ({ ...(each.value as object), at: each.timestamp }));
  };
  /** Moves stream time without a record of this join (as a batch of another input of the task does). */
  const advanceTo = async (time: number) => {
    streamTime = Math.max(streamTime, time);
    const place = item(0, click('placeholder'), -1);
    await join.loadDue!(streamTime);
    return join.onStreamTime!(streamTime, place).map((each) => ({
      ...(each.value as object),
      at: each.timestamp,
    }));
  };
  const commit = async () => {
    for (const side of sides) await side.cache.flush(side.cache.changes(), '1');
  };
  return { join, batch, batchBySide, advanceTo, deadLetters, sides, stores, commit };
}

const click = (id: string, user = 'u1'): Click => ({ user, id });
const view = (page: string, user = 'u1'): View => ({ user, page });

describe('stream–stream join windows (within 100 ms, grace 50 ms)', () => {
  it('joins records exactly within apart (both directions), not one ms beyond; the result has the later time', async () => {
    const { batch } = harness('inner');
    expect(await batch([0, click('c1'), 1000])).toEqual([]);
    expect(await batch([1, view('at+within'), 1100])).toEqual([{ click: 'c1', view: 'at+within', at: 1100 }]);
    expect(await batch([1, view('beyond'), 1101])).toEqual([]);
    // a right record before the left one, exactly within earlier, from the other side
    expect(await batch([1, view('early', 'u2'), 1050])).toEqual([]);
    expect(await batch([0, click('c2', 'u2'), 1150])).toEqual([{ click: 'c2', view: 'early', at: 1150 }]);
    // keys apart never join; two records of one key at one time both join
    expect(await batch([1, view('other-user', 'u3'), 1120])).toEqual([]);
    expect(await batch([1, view('twin-a', 'u2'), 1160], [1, view('twin-b', 'u2'), 1160])).toEqual([
      { click: 'c2', view: 'twin-a', at: 1160 },
      { click: 'c2', view: 'twin-b', at: 1160 },
    ]);
  });

  it('decides a pair by the records, not by the order a batch hands them over', async () => {
    for (const bySide of [false, true]) {
      const { batch, batchBySide } = harness('inner');
      const send = bySide ? batchBySide : batch;
      // in input order: a view at 1000, stream time to 1200, then a click at 1100 (on time:
      // 1100 + 150 ≥ 1200) — the view's window closed at 1150 < 1200, so no pair, however ordered
      expect(await send([1, view('v'), 1000], [0, click('x', 'u2'), 1200], [0, click('c'), 1100])).toEqual(
        [],
      );
      // and a pair whose first record is still open is found either way
      expect(await send([1, view('w', 'u3'), 1300], [0, click('d', 'u3'), 1350])).toEqual([
        { click: 'd', view: 'w', at: 1350 },
      ]);
    }
  });

  it('takes a record within grace, dead-letters one after grace as late; it joins nothing', async () => {
    const { batch, deadLetters } = harness('inner');
    await batch([1, view('p'), 1100]);
    await batch([0, click('now'), 1200]); // stream time 1200
    // 1050 + 100 + 50 = 1200: its window closes only once stream time passes 1200 — on time
    expect(await batch([0, click('within-grace'), 1050])).toEqual([
      { click: 'within-grace', view: 'p', at: 1100 },
    ]);
    // 1049 + 150 = 1199 < 1200: late
    expect(await batch([0, click('late'), 1049])).toEqual([]);
    expect(deadLetters).toEqual([
      expect.objectContaining({
        stage: 'late',
        offset: '3',
        message: expect.stringContaining('after its join window closed'),
      }),
    ]);
  });

  it('a left join passes an unmatched left record on with null when its window closes, not before', async () => {
    const { batch, advanceTo } = harness('left');
    expect(await batch([0, click('lonely'), 1000], [0, click('matched', 'u2'), 1010])).toEqual([]);
    expect(await batch([1, view('p', 'u2'), 1050])).toEqual([{ click: 'matched', view: 'p', at: 1050 }]);
    expect(await advanceTo(1150)).toEqual([]); // 1000 + 150: still open
    expect(await advanceTo(1151)).toEqual([{ click: 'lonely', view: null, at: 1000 }]);
    // the matched one and the right record give no null result
    expect(await advanceTo(5000)).toEqual([]);
  });

  it('a null result carries the stream time its window closed at, however far the batch moved it', async () => {
    const { join, batch } = harness('left');
    const placeholder = (await batch([0, click('lonely'), 1000])).length;
    expect(placeholder).toBe(0);
    await join.loadDue!(10_000);
    const [late] = join.onStreamTime!(10_000, {
      value: null,
      timestamp: 10_000,
      streamTime: 10_000,
      partitionKey: undefined,
      origin: { topic: 'clicks', partition: 0, offset: '9', key: null, value: null, headers: {} },
      derived: false,
    });
    // 1000 + within + grace + 1: a window after the join sees it as it would record by record
    expect(late).toMatchObject({ timestamp: 1000, streamTime: 1151, derived: true });
  });

  it('an outer join passes on unmatched records of both sides, each when its own window closes', async () => {
    const { batch, advanceTo } = harness('outer');
    expect(await batch([1, view('alone'), 1000])).toEqual([]);
    expect(await advanceTo(1150)).toEqual([]);
    expect(await advanceTo(1151)).toEqual([{ click: null, view: 'alone', at: 1000 }]);
    expect(await batch([0, click('alone'), 1200])).toEqual([]);
    expect(await advanceTo(1350)).toEqual([]);
    expect(await advanceTo(1351)).toEqual([{ click: 'alone', view: null, at: 1200 }]);
  });

  it('purges closed records from the store (tombstones): a later partner finds nothing', async () => {
    const { batch, advanceTo, sides, commit } = harness('inner');
    await batch([0, click('c'), 1000]);
    await commit();
    expect(sides[0]!.cache.size).toBe(1);
    await advanceTo(1151);
    const changes = sides[0]!.cache.changes();
    expect(changes.filter((change) => change.value === null)).toHaveLength(1);
    await commit();
    // within 100 of the click, and not late itself (1100 + 150 > 1151), but the click is gone
    expect(await batch([1, view('too-late-for-c'), 1100])).toEqual([]);
  });

  it('rebuilds its index from the stores on open (after a restore) and goes on joining and closing', async () => {
    const first = harness('left');
    await first.batch([0, click('before-restart'), 1000], [0, click('unmatched'), 1001]);
    await first.commit();
    const second = harness('left', first.stores);
    await second.join.open!();
    expect(await second.batch([1, view('after'), 1080])).toEqual([
      { click: 'before-restart', view: 'after', at: 1080 },
      { click: 'unmatched', view: 'after', at: 1080 },
    ]);
    const third = harness('left', first.stores);
    await third.join.open!();
    // the matches above were not committed: both are still unmatched for the restored join
    expect(await third.advanceTo(1152)).toEqual([
      { click: 'before-restart', view: null, at: 1000 },
      { click: 'unmatched', view: null, at: 1001 },
    ]);
  });

  it('dead-letters a record without a string join key', async () => {
    const { batch, deadLetters } = harness('inner');
    expect(await batch([0, { user: null, id: 'x' } as unknown as Click, 1000])).toEqual([]);
    expect(deadLetters).toEqual([
      expect.objectContaining({ stage: 'process', message: expect.stringContaining('field user is null') }),
    ]);
  });
});

const streams = streamsOf(
  fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('Mobile', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('Out', [], { partitionKey: 'userTenantDomain' }),
);
const requests = stream<Request>('Request');
const mobile = stream<Request>('Mobile');
type Pair = { userTenantDomain: string; web: string; mobile: string | null };

/** What a JavaScript app (no type checks) could pass: a join without within. */
const withoutWithin = {
  on: 'userTenantDomain',
  joiner: (left: Request, right: Request): Pair => ({
    userTenantDomain: left.userTenantDomain,
    web: left.apiName,
    mobile: right.apiName,
  }),
} as unknown as StreamJoinOptions<'userTenantDomain', (left: Request, right: Request) => Pair>;

describe('compiling stream–stream joins', () => {
  it('puts both sides in one sub-topology with two inputs and two changelogged stores; describe shows them', () => {
    const app = defineApp({
      id: 'pairs',
      source: requests,
      pipeline: (web, sources) =>
        web
          .leftJoin(sources.from(mobile), {
            on: 'userTenantDomain',
            within: 1000,
            grace: 500,
            name: 'web-mobile',
            joiner: (left, right): Pair => ({
              userTenantDomain: left.userTenantDomain,
              web: left.apiName,
              mobile: right?.apiName ?? null,
            }),
          })
          .to(stream<Pair>('Out')),
    });
    const topology = compileTopology(app, streams);
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.subtopologies[0]!.inputs.map((input) => input.topic)).toEqual(['request', 'mobile']);
    expect(
      topology.stores.map(({ name, changelogTopic, retentionMs }) => ({ name, changelogTopic, retentionMs })),
    ).toEqual([
      { name: 'web-mobile-this', changelogTopic: 'pairs-web-mobile-this-changelog', retentionMs: 1500 },
      { name: 'web-mobile-other', changelogTopic: 'pairs-web-mobile-other-changelog', retentionMs: 1500 },
    ]);
    const text = describeTopology(topology, 'text');
    expect(text).toContain('stream left join on userTenantDomain within 1000 ms, grace 500 ms');
    expect(text).toContain('store web-mobile-this, changelog pairs-web-mobile-this-changelog');
    expect(text).toContain('store web-mobile-other, changelog pairs-web-mobile-other-changelog');
  });

  it('refuses sides not co-partitioned on the join key, and a join without within', () => {
    const message = refusal(() =>
      compileTopology(
        defineApp({
          id: 'bad-join',
          source: requests,
          pipeline: (web, sources) => {
            web
              .join(sources.from(mobile), {
                on: 'apiName',
                within: 1000,
                joiner: (left, right): Pair => ({
                  userTenantDomain: left.userTenantDomain,
                  web: left.apiName,
                  mobile: right.apiName,
                }),
              })
              .to(stream<Pair>('Out'));
            web.join(sources.from(mobile), withoutWithin).to(stream<Pair>('Out'));
          },
        }),
        streams,
      ),
    );
    expect(message).toContain(
      "its sides are not co-partitioned on the join key (the partition key 'userTenantDomain' / the partition key 'userTenantDomain'); join on each side's partition key, or repartition both sides by the join key first",
    );
    expect(message).toContain('a stream join needs within');
  });

  it('accepts sides repartitioned by the join key', () => {
    const app = defineApp({
      id: 'by-api',
      source: requests,
      pipeline: (web, sources) =>
        web
          .repartition({ name: 'web-by-api', by: ['apiName'] })
          .join(sources.from(mobile).repartition({ name: 'mobile-by-api', by: ['apiName'] }), {
            on: 'apiName',
            within: 1000,
            joiner: (left, right): Pair => ({
              userTenantDomain: left.apiName,
              web: left.apiName,
              mobile: right.apiName,
            }),
          })
          .to(stream<Pair>('Out')),
    });
    const topology = compileTopology(app, streams);
    const joining = topology.subtopologies.find((part) => part.stores.length > 0)!;
    expect(joining.inputs.map((input) => input.kind)).toEqual(['repartition', 'repartition']);
  });
});
