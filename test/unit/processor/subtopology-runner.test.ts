import { describe, expect, it } from 'vitest';
import type { OutgoingRecord } from '../../../common/kafka/index.ts';
import { defineApp, stream, tumbling } from '../../../processor/app/define.ts';
import { decodeRepartitionValue } from '../../../processor/app/repartition-codec.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import type { StoredAggregate } from '../../../processor/operators/aggregate-operator.ts';
import type { Item } from '../../../processor/operators/operator.ts';
import { encodeGroup } from '../../../processor/state/key-codec.ts';
import { createMemoryStore } from '../../../processor/state/memory-store.ts';
import { jsonCodec, WriteCache } from '../../../processor/state/write-cache.ts';
import { createSubtopologyRunner } from '../../../processor/task/subtopology-runner.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, requestFields, streamsOf } from './stream-fixtures.ts';

const streams = streamsOf(
  fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('Alerts', requestFields, { partitionKey: 'userTenantDomain' }),
  fakeStream('Out', [], { partitionKey: 'apiName' }),
);

type Event = Pick<Request, 'userTenantDomain' | 'apiName' | 'throttledOut' | 'requestTimestamp'>;
const requests = stream<Request>('Request');

/** Runs one sub-topology of `app` over `events` as a task would, collecting outputs and dead letters. */
async function run(app: ReturnType<typeof defineApp>, subtopology: number, events: Event[]) {
  const topology = compileTopology(app, streams);
  const outputs: OutgoingRecord[] = [];
  const deadLetters: { stage: string; message: string; offset: string }[] = [];
  const stores = new Map(
    topology.stores
      .filter((store) => store.subtopology === subtopology)
      .map((store) => {
        const memory = createMemoryStore();
        return [
          store.name,
          { store: memory, cache: new WriteCache<StoredAggregate>(memory, jsonCodec(), 100) },
        ];
      }),
  );
  const runner = createSubtopologyRunner({
    topology,
    subtopology,
    stores,
    encoders: new Map(
      ['Alerts', 'Out'].map((name) => [name, (value: unknown) => Buffer.from(JSON.stringify(value))]),
    ),
    context: {
      output: (record) => outputs.push(record),
      deadLetter: (origin, stage, error) =>
        deadLetters.push({ stage, message: (error as Error).message, offset: origin.offset }),
    },
  });
  await runner.open();
  const inputTopic = topology.subtopologies[subtopology]!.inputs[0]!.topic;
  let seen = -1;
  const items: Item[] = events.map((event, index) => {
    // as the task does: each item carries the stream time when its record was seen
    seen = Math.max(seen, event.requestTimestamp);
    return {
      value: event,
      timestamp: event.requestTimestamp,
      streamTime: seen,
      partitionKey: subtopology === 0 ? event.userTenantDomain : undefined,
      origin: { topic: 'in', partition: 0, offset: String(index), key: null, value: null, headers: {} },
      derived: false,
    };
  });
  await runner.run(inputTopic, items, seen);
  const sent = (topic: string) =>
    outputs.filter((record) => record.topic === topic).map((record) => JSON.parse(String(record.value)));
  return { outputs, deadLetters, sent };
}

const event = (
  userTenantDomain: string,
  apiName: string,
  requestTimestamp: number,
  throttledOut = false,
): Event => ({
  userTenantDomain,
  apiName,
  requestTimestamp,
  throttledOut,
});

describe('sub-topology runner', () => {
  it('runs branch, flatMap, peek and merge in graph order and writes each sink', async () => {
    const peeked: string[] = [];
    const app = defineApp({
      id: 'ops',
      source: requests,
      pipeline: (events) => {
        const { throttled, rest } = events
          .peek((e) => {
            if (e.apiName === 'bad') throw new Error('no bad APIs');
            peeked.push(e.apiName);
          })
          .branch({ throttled: (e) => e.throttledOut, rest: (e) => e.apiName !== 'ignored' });
        throttled.to(stream<Request>('Alerts'));
        rest
          .flatMap((e) => (e.apiName === 'twice' ? [e, e] : [e]))
          .merge(throttled)
          .map((e) => ({ apiName: e.apiName, tenant: e.userTenantDomain }))
          .to(stream('Out'));
      },
    });
    const { sent, deadLetters } = await run(app, 0, [
      event('t1', 'a', 1),
      event('t1', 'bad', 2),
      event('t2', 'twice', 3),
      event('t2', 'x', 4, true),
      event('t3', 'ignored', 5),
    ]);
    expect(peeked).toEqual(['a', 'twice', 'x', 'ignored']);
    expect(sent('alerts').map((e) => e.apiName)).toEqual(['x']);
    // the merge takes its first input's items, then its second's
    expect(sent('out')).toEqual([
      { apiName: 'a', tenant: 't1' },
      { apiName: 'twice', tenant: 't2' },
      { apiName: 'twice', tenant: 't2' },
      { apiName: 'x', tenant: 't2' },
    ]);
    expect(deadLetters).toEqual([{ stage: 'process', message: 'peek threw: no bad APIs', offset: '1' }]);
  });

  it('writes repartition records keyed by the new key with the event time, and aggregates them downstream', async () => {
    const app = defineApp({
      id: 'moved',
      source: requests,
      pipeline: (events) =>
        events
          .groupBy('apiName')
          .window(tumbling({ size: 10 }))
          .aggregate((agg) => ({ n: agg.count() }), { store: 'by-api' })
          .map(({ key, window, value }) => ({ apiName: key.apiName, start: window.start, n: value.n }))
          .to(stream('Out')),
    });
    const events = [event('t1', 'a', 1), event('t2', 'a', 2), event('t1', 'b', 3), event('t3', 'a', 12)];
    const upstream = await run(app, 0, events);
    expect(upstream.outputs.map(({ topic, key, timestamp }) => ({ topic, key, timestamp }))).toEqual(
      events.map((e) => ({
        topic: 'moved-by-api-repartition',
        key: encodeGroup([e.apiName]),
        timestamp: e.requestTimestamp,
      })),
    );
    expect(upstream.outputs.map((record) => decodeRepartitionValue(record.value as Buffer))).toEqual(events);
    // downstream: the window [0, 10) of api a and b closes at stream time 12
    const downstream = await run(app, 1, events);
    expect(downstream.sent('out')).toEqual([
      { apiName: 'a', start: 0, n: 2 },
      { apiName: 'b', start: 0, n: 1 },
    ]);
  });

  it('dead-letters an event whose partition-key field differs from its record key when the grouping keeps partitioning', async () => {
    const app = defineApp({
      id: 'kept',
      source: requests,
      pipeline: (events) =>
        events
          .map((e) => ({
            ...e,
            userTenantDomain: e.userTenantDomain === 't2' ? 'moved' : e.userTenantDomain,
          }))
          .groupBy('userTenantDomain')
          .aggregate((agg) => ({ n: agg.count() }))
          .map(({ key, value }) => ({ apiName: key.userTenantDomain, n: value.n }))
          .to(stream('Out')),
    });
    const { sent, deadLetters } = await run(app, 0, [event('t1', 'a', 1), event('t2', 'a', 2)]);
    expect(sent('out')).toEqual([{ apiName: 't1', n: 1 }]);
    expect(deadLetters).toEqual([
      { stage: 'process', message: 'userTenantDomain "moved" differs from the record key "t2"', offset: '1' },
    ]);
  });
  it('closes more windows at one stream-time step than a call may take arguments (200 000 at once)', async () => {
    const app = defineApp({
      id: 'wide',
      source: requests,
      pipeline: (events) =>
        events
          .groupBy('userTenantDomain')
          .window(tumbling({ size: 10 }))
          .aggregate((agg) => ({ n: agg.count() }))
          .map(({ key, value }) => ({ apiName: key.userTenantDomain, n: value.n }))
          .to(stream('Out')),
    });
    const tenants = 200_000;
    const events = Array.from({ length: tenants }, (_, i) => event(`t${i}`, 'a', 1));
    // one later record moves stream time past every window at once
    const { sent, deadLetters } = await run(app, 0, [...events, event('t0', 'a', 25)]);
    expect(deadLetters).toEqual([]);
    const closed = sent('out');
    expect(closed).toHaveLength(tenants);
    expect(closed.every((window) => window.n === 1)).toBe(true);
  }, 60_000);
});
