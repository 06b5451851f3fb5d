/** Where a state query goes: the key read from the URL and the partition key that finds its task. */
import { describe, expect, it } from 'vitest';
import { compileApp } from '../../../processor/app/compile.ts';
import { defineApp, stream } from '../../../processor/app/define.ts';
import { routeStore } from '../../../processor/query/store-routing.ts';
import { encodeGroup } from '../../../processor/state/key-codec.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, requestFields, streamsOf } from './stream-fixtures.ts';

const streams = streamsOf(
  fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('Out', [], { partitionKey: 'userTenantDomain' }),
);
type Out = { userTenantDomain: string };

const compiled = compileApp(
  defineApp({
    id: 'routes',
    source: stream<Request>('Request'),
    pipeline: (events) => {
      events
        .groupBy('userTenantDomain', 'apiName')
        .aggregate((agg) => ({ n: agg.count() }), { store: 'pairs' })
        .map(({ key }): Out => ({ userTenantDomain: key.userTenantDomain }))
        .to(stream<Out>('Out'));
      events.groupBy('apiName').aggregate((agg) => ({ n: agg.count() }), { store: 'apis' });
      events
        .groupBy((e) => ({ api: e.apiName, version: e.apiVersion }), { repartition: true })
        .aggregate((agg) => ({ n: agg.count() }), { store: 'versions' });
      events
        .groupBy((e) => ({ userTenantDomain: e.userTenantDomain, big: e.responseTime > 100 }), {
          repartition: false,
        })
        .aggregate((agg) => ({ n: agg.count() }), { store: 'slow' });
    },
  }),
  streams,
);

describe('state query routing', () => {
  it('routes a store of sub-topology 0 by the partition-key field of its key', () => {
    const route = routeStore(compiled, 'pairs')!;
    const group = route.parseKey('["a.com","pay"]') as unknown[];
    expect(group).toEqual(['a.com', 'pay']);
    expect(route.partitionKey(group)).toEqual({ kind: 'source', key: 'a.com' });
    expect(route.tenantOf(group)).toBe('a.com');
    expect(route.parseKey('["a.com"]')).toBeInstanceOf(Error);
    expect(route.keyShape).toBe('a JSON array of 2 value(s): [userTenantDomain, apiName]');
  });

  it('routes a store behind a repartition by the repartition key, as the writer keys its records', () => {
    const route = routeStore(compiled, 'apis')!;
    expect(route.store.subtopology).toBeGreaterThan(0);
    const group = route.parseKey('pay') as unknown[]; // a one-field key may be bare
    expect(route.partitionKey(group)).toEqual({
      kind: 'repartition',
      topic: 'routes-apis-repartition',
      key: encodeGroup(['pay']),
    });
    expect(route.tenantOf(group)).toBeUndefined(); // not per tenant: operator keys only
  });

  it('reads a key function’s key as the object it returns, in its order', () => {
    const versions = routeStore(compiled, 'versions')!;
    const group = versions.parseKey('{"api":"pay","version":"v2"}') as unknown[];
    expect(group).toEqual(['api', 'pay', 'version', 'v2']);
    expect(versions.partitionKey(group)).toEqual({
      kind: 'repartition',
      topic: 'routes-versions-repartition',
      key: encodeGroup(group),
    });
    expect(versions.parseKey('["pay","v2"]')).toBeInstanceOf(Error);
    // a key function that keeps the partitioning: its tenant field picks the partition
    const slow = routeStore(compiled, 'slow')!;
    const slowGroup = slow.parseKey('{"userTenantDomain":"a.com","big":true}') as unknown[];
    expect(slow.partitionKey(slowGroup)).toEqual({ kind: 'source', key: 'a.com' });
    expect(slow.partitionKey(slow.parseKey('{"big":true}') as unknown[])).toBeInstanceOf(Error);
  });

  it('knows no store the app does not have', () => {
    expect(routeStore(compiled, 'nope')).toBeUndefined();
  });
});
