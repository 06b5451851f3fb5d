import { describe, expect, it } from 'vitest';
import apiAnalytics from '../../../apps/api-analytics.ts';
import { type App, defineApp, minutes, stream, tumbling } from '../../../processor/app/define.ts';
import { Graph } from '../../../processor/app/graph.ts';
import { groupOf, keyObject } from '../../../processor/app/group-key.ts';
import { compileTopology, taskId } from '../../../processor/app/topology.ts';
import { describeTopology } from '../../../processor/app/topology-description.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, refusal, requestFields, streamsOf } from './stream-fixtures.ts';

const streams = streamsOf(
  fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('Request2', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('ByApi', requestFields, { partitionKey: 'apiName', eventTime: 'requestTimestamp' }),
  fakeStream('NoTime', requestFields, { partitionKey: 'userTenantDomain' }),
  fakeStream('ApiStats', [], { partitionKey: 'userTenantDomain' }),
  fakeStream('Out', [], { partitionKey: 'apiName' }),
  fakeStream('Alerts', [], { partitionKey: 'userTenantDomain' }),
);
const requests = stream<Request>('Request');
const compile = (app: App) => compileTopology(app, streams);
const refusalOf = (app: App) => refusal(() => compile(app));

type ApiCount = { apiName: string; n: number };

/** Per-API counts across tenants: the groupBy lacks the partition key, so it repartitions. */
const perApi = defineApp({
  id: 'per-api',
  source: requests,
  pipeline: (events) => {
    const { throttled, rest } = events.branch({
      throttled: (e) => e.throttledOut,
      rest: () => true,
    });
    throttled.to(stream<Request>('Alerts'));
    rest
      .groupBy('apiName')
      .window(tumbling({ size: minutes(1) }))
      .aggregate((agg) => ({ n: agg.count() }), { store: 'by-api' })
      .map(({ key, value }): ApiCount => ({ apiName: key.apiName, n: value.n }))
      .to(stream<ApiCount>('Out'));
  },
});

describe('graph compilation', () => {
  it('keeps the seed app in one sub-topology with its store and changelog names unchanged', () => {
    const topology = compile(apiAnalytics);
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.repartitions).toEqual([]);
    expect(topology.stores).toEqual([
      {
        name: 'aggregates',
        changelogTopic: 'api-analytics-aggregates-changelog',
        subtopology: 0,
        node: 1,
        window: { kind: 'tumbling', sizeMs: 60_000, graceMs: 10_000 },
      },
    ]);
    expect(topology.subtopologies[0]).toMatchObject({
      inputs: [{ kind: 'stream', stream: 'Request', topic: 'request', node: 0 }],
      nodes: [0, 1, 2, 3],
      sinks: ['ApiStats'],
      writes: [],
    });
  });

  it('cuts the graph at a groupBy without the partition key and names the repartition topic after the store', () => {
    const topology = compile(perApi);
    expect(topology.subtopologies.map((part) => part.nodes)).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7],
    ]);
    expect(topology.repartitions).toEqual([
      {
        name: 'by-api',
        topic: 'per-api-by-api-repartition',
        from: 0,
        to: 1,
        key: { kind: 'fields', fields: ['apiName'] },
        reader: 5,
      },
    ]);
    const [upstream, downstream] = topology.subtopologies;
    expect(upstream).toMatchObject({ sinks: ['Alerts'], stores: [], writes: ['per-api-by-api-repartition'] });
    expect(downstream).toMatchObject({
      inputs: [{ kind: 'repartition', name: 'by-api', topic: 'per-api-by-api-repartition', node: 5 }],
      stores: ['by-api'],
      sinks: ['Out'],
    });
    expect(topology.stores[0]).toMatchObject({ changelogTopic: 'per-api-by-api-changelog', subtopology: 1 });
    expect(taskId(1, 3)).toBe('1_3');
  });

  it('keeps partitioning for a groupBy with the partition key, also over the results of an earlier aggregation', () => {
    const app = defineApp({
      id: 'two-levels',
      source: requests,
      pipeline: (events) =>
        events
          .groupBy('userTenantDomain', 'apiName')
          .window(tumbling({ size: minutes(1) }))
          .aggregate((agg) => ({ n: agg.count() }), { store: 'windows' })
          .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, n: value.n }))
          .groupBy('userTenantDomain')
          .aggregate(
            { init: () => 0, add: (max: number, window) => Math.max(max, window.n) },
            { store: 'peaks' },
          )
          .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, peak: value }))
          .to(stream('ApiStats')),
    });
    const topology = compile(app);
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.subtopologies[0]!.stores).toEqual(['windows', 'peaks']);
    expect(topology.repartitions).toEqual([]);
  });

  it('after a repartition, keeps partitioning for keys that contain the repartition key', () => {
    const app = defineApp({
      id: 'moved',
      source: requests,
      pipeline: (events) =>
        events
          .repartition({ name: 'by-api', by: ['apiName'] })
          .groupBy('apiName', 'apiVersion')
          .aggregate((agg) => ({ n: agg.count() }))
          .map(({ key, value }) => ({ apiName: key.apiName, n: value.n }))
          .to(stream('Out')),
    });
    const topology = compile(app);
    expect(topology.repartitions.map((each) => [each.topic, each.reader])).toEqual([
      ['moved-by-api-repartition', 1],
    ]);
    expect(topology.subtopologies.map((part) => part.nodes)).toEqual([[0], [1, 2, 3, 4]]);
    expect(topology.partitioning.get(2)).toMatchObject({ kind: 'key', topic: 'moved-by-api-repartition' });
  });

  it('follows an explicit decision for a key function', () => {
    const app = (repartition: boolean) =>
      defineApp({
        id: 'key-fn',
        source: requests,
        pipeline: (events) =>
          events
            .groupBy((e) => ({ api: e.apiName.toLowerCase() }), { repartition })
            .aggregate((agg) => ({ n: agg.count() }))
            .map(({ key, value }) => ({ apiName: key.api, n: value.n }))
            .to(stream('Out')),
      });
    expect(compile(app(true)).repartitions.map((each) => each.topic)).toEqual([
      'key-fn-aggregates-repartition',
    ]);
    expect(compile(app(false)).repartitions).toEqual([]);
  });

  it('merges inputs partitioned alike into one sub-topology with two inputs', () => {
    const app = defineApp({
      id: 'merged',
      source: requests,
      pipeline: (events, sources) =>
        events
          .merge(sources.from(stream<Request>('Request2')))
          .filter((e) => !e.throttledOut)
          .to(requests),
    });
    const topology = compile(app);
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.subtopologies[0]!.inputs.map((input) => input.topic)).toEqual(['request', 'request2']);
  });

  it('refuses, all at once: unknown streams, missing event time, a merge of unlike partitionings', () => {
    const message = refusalOf(
      defineApp({
        id: 'bad-streams',
        source: requests,
        pipeline: (events, sources) => {
          events.merge(sources.from(stream<Request>('ByApi'))).to(stream('Nowhere'));
          sources.from(stream<Request>('Missing')).to(requests);
          sources.from(stream<Request>('NoTime')).to(requests);
        },
      }),
    );
    expect(message).toContain('sink stream "Nowhere" is not in the configuration\'s streams');
    expect(message).toContain('source stream "Missing" is not in the configuration\'s streams');
    expect(message).toContain('source stream "NoTime" needs an eventTime field (streams.NoTime.eventTime)');
    expect(message).toContain(
      "inputs are partitioned differently (the partition key 'userTenantDomain' / the partition key 'apiName')",
    );
  });

  it('refuses duplicate store names, a key function without a decision, an unknown field and an app without sink', () => {
    const duplicate = refusalOf(
      defineApp({
        id: 'dup',
        source: requests,
        pipeline: (events) => {
          events.groupBy('userTenantDomain').aggregate((agg) => ({ n: agg.count() }));
          events.groupBy('userTenantDomain', 'apiName').aggregate((agg) => ({ n: agg.count() }));
        },
      }),
    );
    expect(duplicate).toContain(
      'nodes 1, 2 all use the store name "aggregates": give each aggregation its own with aggregate(..., { store: \'<name>\' })',
    );
    expect(duplicate).toContain('the app writes nowhere');
    const undecided = refusalOf(
      defineApp({
        id: 'undecided',
        source: requests,
        // a JavaScript app can leave the decision out; TypeScript ones cannot (test/types)
        pipeline: (events) =>
          (events.groupBy as (key: (e: Request) => object) => ReturnType<typeof events.groupBy>)((e) => ({
            api: e.apiName,
          }))
            .aggregate((agg) => ({ n: agg.count() }))
            .to(stream('Out') as never),
      }),
    );
    expect(undecided).toContain('sluice cannot tell whether a key function keeps the partitioning');
    const unknownField = refusalOf(
      defineApp({
        id: 'unknown-field',
        source: requests,
        pipeline: (events) =>
          events
            .filter(() => true)
            .groupBy('tenant' as never)
            .aggregate((agg) => ({ n: agg.count() }))
            .to(stream('Out') as never),
      }),
    );
    expect(unknownField).toContain(
      "node 2 (groupBy(tenant) running aggregate): the events have no field 'tenant'",
    );
  });

  it('refuses a cycle in a graph built by hand', () => {
    const graph = new Graph();
    graph.add({ kind: 'source', stream: 'Request' }, []);
    graph.nodes.push(
      { id: 1, kind: 'merge', inputs: [0, 2] },
      { id: 2, kind: 'peek', fn: () => {}, inputs: [1] },
    );
    graph.add({ kind: 'sink', stream: 'Alerts' }, [2]);
    expect(refusalOf({ id: 'loop', source: 'Request', graph })).toContain(
      'the graph has a cycle through nodes 1, 2, 3: a stream cannot feed itself',
    );
  });

  it('describes sub-topologies, stores, changelogs, repartition and sink topics', () => {
    const topology = compile(perApi);
    expect(describeTopology(topology)).toBe(
      [
        'app per-api: 2 sub-topologies',
        '',
        'sub-topology 0 (tasks 0_<partition>)',
        '  inputs: request',
        '  0: source Request  [topic request]',
        '  1: branch(throttled, rest) ← 0',
        '  2: branch arm "throttled" ← 1',
        '  3: branch arm "rest" ← 1',
        '  4: to Alerts ← 2  [topic alerts]',
        '  writes repartition: per-api-by-api-repartition',
        '  sinks: Alerts',
        '',
        'sub-topology 1 (tasks 1_<partition>)',
        '  inputs: per-api-by-api-repartition',
        "  5: groupBy(apiName) tumbling window aggregate ← 3  [reads per-api-by-api-repartition, the input's partition count; store by-api, changelog per-api-by-api-changelog]",
        '  6: map ← 5',
        '  7: to Out ← 6  [topic out]',
        '  stores: by-api',
        '  sinks: Out',
        '',
      ].join('\n'),
    );
    const dot = describeTopology(topology, 'dot');
    expect(dot).toContain('subgraph cluster_1 {');
    expect(dot).toContain('n3 -> n5 [style=dashed, label="repartition"];');
    expect(describeTopology(topology, 'mermaid')).toContain('n3 -. repartition .-> n5');
  });
});

describe('group keys', () => {
  it('rebuilds the key object from the group, for fields and for a key function', () => {
    const fields = { key: { kind: 'fields', fields: ['a', 'b'] } } as const;
    expect(groupOf(fields, { a: 'x', b: 2, c: 3 })).toEqual(['x', 2]);
    expect(keyObject(fields, ['x', 2])).toEqual({ a: 'x', b: 2 });
    const computed = {
      key: { kind: 'function', fn: (e: unknown) => ({ low: String(e).toLowerCase(), n: 1 }) },
    } as const;
    const group = groupOf(computed, 'ABC');
    expect(group).toEqual(['low', 'abc', 'n', 1]);
    expect(keyObject(computed, group)).toEqual({ low: 'abc', n: 1 });
    expect(() => groupOf({ key: { kind: 'function', fn: () => null as never } }, {})).toThrow(
      /not an object/,
    );
  });
});
