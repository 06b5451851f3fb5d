/**
 * Compile-time checks of the app DSL, run by `tsc --noEmit` (CI's typecheck phase): each
 * `@ts-expect-error` fails the typecheck if the line below it stops being an error.
 */

import { defineApp, stream, table, tumbling } from '../../processor/app/define.ts';
import type { ApiStats, Request } from '../../schemas/event-types.ts';

export const wrongPipelines = () =>
  defineApp({
    id: 'type-errors',
    source: stream<Request>('Request'),
    pipeline: (events) => {
      // @ts-expect-error: not a field of Request
      events.groupBy('tenant');
      // @ts-expect-error: min needs a number
      events.groupBy('userTenantDomain').aggregate((agg) => ({ x: agg.min((e) => e.apiName) }));
      // @ts-expect-error: the sink's events have another shape
      events.to(stream<ApiStats>('ApiStats'));
      const counted = events
        .groupBy('userTenantDomain')
        .window(tumbling({ size: 1000 }))
        .aggregate((agg) => ({ n: agg.count() }));
      // @ts-expect-error: results group by scalar fields (map them out of key and value first)
      counted.groupBy('key');
      // @ts-expect-error: the key holds only the grouped fields
      counted.map(({ key }) => ({ api: key.apiName }));
      return counted
        .map(({ key, value }) => ({ userTenantDomain: key.userTenantDomain, n: value.n }))
        .to(stream('Out'));
    },
  });

type Alert = { userTenantDomain: string; apiName: string };

export const wrongGraphs = () =>
  defineApp({
    id: 'graph-type-errors',
    source: stream<Request>('Request'),
    pipeline: (events, sources) => {
      const { throttled, rest } = events.branch({ throttled: (e) => e.throttledOut, rest: () => true });
      // @ts-expect-error: branch arms are the names given
      events.branch({ a: () => true }).b;
      // @ts-expect-error: a branch arm keeps the event type
      throttled.to(stream<Alert>('Alerts'));
      throttled
        .map((e): Alert => ({ userTenantDomain: e.userTenantDomain, apiName: e.apiName }))
        .to(stream<Alert>('Alerts'));
      // @ts-expect-error: merge takes streams of the same shape
      rest.merge(sources.from(stream<Alert>('Alerts')));
      rest.merge(sources.from(stream<Request>('Request2')));
      // @ts-expect-error: flatMap returns an iterable of events
      rest.flatMap((e) => e.responseTime);
      rest.flatMap((e) => [e, e]).peek((e) => e.apiName.length);
      // @ts-expect-error: a key function needs an explicit repartition decision
      rest.groupBy((e) => ({ api: e.apiName }));
      // @ts-expect-error: a key function returns key fields with scalar values
      rest.groupBy((e) => ({ api: [e.apiName] }), { repartition: true });
      // @ts-expect-error: repartition by a field the events do not have
      rest.repartition({ name: 'x', by: ['tenant'] });
      // a repartition topic's own partition count, on repartition() or the aggregation that repartitions
      rest.repartition({ name: 'y', by: ['apiName'], partitions: 8 });
      rest.groupBy('apiName').aggregate((agg) => ({ n: agg.count() }), { store: 'z', partitions: 8 });
      // @ts-expect-error: a partition count is a number
      rest.repartition({ name: 'y', by: ['apiName'], partitions: '8' });
      const custom = rest
        .groupBy((e) => ({ api: e.apiName }), { repartition: true })
        .aggregate({
          init: () => 0,
          add: (total, e) => total + e.responseTime,
          result: (total) => `${total}ms`,
        });
      // @ts-expect-error: a custom aggregator's result type flows to `value`
      custom.map(({ value }) => ({ n: value.toFixed() }));
      // @ts-expect-error: the key of a key function is what it returns
      custom.map(({ key }) => ({ n: key.apiName }));
      const byApi = rest.groupBy('apiName');
      const foldsOtherEvents = {
        init: () => 0,
        add: (total: number, e: { tenant: string }) => total + e.tenant.length,
      };
      // @ts-expect-error: an aggregator folds events of the grouped stream
      byApi.aggregate(foldsOtherEvents);
      const reduced = rest
        .groupBy('apiName')
        .window(tumbling({ size: 1000 }))
        .reduce((a, b) => (a.responseTime > b.responseTime ? a : b));
      // @ts-expect-error: reduce's value is an event (or null before the first)
      reduced.map(({ value }) => ({ n: value.count }));
      // a second aggregation over the first's results
      return reduced
        .map(({ key, value }) => ({ apiName: key.apiName, slowest: value?.responseTime ?? 0 }))
        .groupBy('apiName')
        .aggregate((agg) => ({ worst: agg.max((e) => e.slowest) }))
        .map(({ key, value }) => ({ userTenantDomain: key.apiName, n: value.worst ?? 0 }))
        .to(stream('Out'));
    },
  });

type Plan = { tenant: string; plan: string; requestQuota: number };

export const wrongJoins = () =>
  defineApp({
    id: 'join-type-errors',
    source: stream<Request>('Request'),
    pipeline: (events) => {
      const plans = table<Plan>('TenantPlan');
      // @ts-expect-error: a join key is a string field of the events
      events.join(plans, { on: 'responseTime', joiner: (e) => ({ api: e.apiName }) });
      // @ts-expect-error: not a field of Request
      events.join(plans, { on: 'tenant', joiner: (e) => ({ api: e.apiName }) });
      // @ts-expect-error: a left join's row may be null
      events.leftJoin(plans, { on: 'userTenantDomain', joiner: (e, row) => ({ tier: row.plan, e }) });
      // @ts-expect-error: the row has the table's type
      events.join(plans, { on: 'userTenantDomain', joiner: (_e, row) => ({ n: row.quota }) });
      const joined = events.join(plans, {
        on: (e) => (e.userTenantDomain === '' ? null : e.userTenantDomain),
        joiner: (e, row) => ({ userTenantDomain: e.userTenantDomain, tier: row.plan }),
      });
      // @ts-expect-error: the joined events are what the joiner returns
      joined.groupBy('apiName');
      return joined
        .groupBy('tier')
        .aggregate((agg) => ({ n: agg.count() }))
        .map(({ key, value }) => ({ apiName: key.tier, n: value.n }))
        .to(stream('Out'));
    },
  });

type Click = { userTenantDomain: string; button: string; clickedAt: number };

export const wrongStreamJoins = () =>
  defineApp({
    id: 'stream-join-type-errors',
    source: stream<Request>('Request'),
    pipeline: (events, sources) => {
      const clicks = sources.from(stream<Click>('Clicks'));
      // @ts-expect-error: the join key must be a string field of both sides
      events.join(clicks, { on: 'apiName', within: 1000, joiner: (e, c) => ({ e, c }) });
      // @ts-expect-error: per side, each a string field of its own side
      events.join(clicks, {
        on: { left: 'userTenantDomain', right: 'clickedAt' },
        within: 1000,
        joiner: (e) => e,
      });
      // @ts-expect-error: within is required
      events.join(clicks, { on: 'userTenantDomain', joiner: (e, c) => ({ e, c }) });
      events.leftJoin(clicks, {
        on: 'userTenantDomain',
        within: 1000,
        // @ts-expect-error: a left join's right side may be null
        joiner: (e, c) => ({ api: e.apiName, b: c.button }),
      });
      events.outerJoin(clicks, {
        on: 'userTenantDomain',
        within: 1000,
        // @ts-expect-error: an outer join's left side may be null too
        joiner: (e, c) => ({ api: e.apiName, b: c?.button }),
      });
      const paired = events.outerJoin(clicks, {
        on: { left: 'userTenantDomain', right: 'userTenantDomain' },
        within: 1000,
        grace: 500,
        joiner: (e, c) => ({ userTenantDomain: (e ?? c)!.userTenantDomain, button: c?.button ?? 'none' }),
      });
      // @ts-expect-error: the joined events are what the joiner returns
      paired.groupBy('apiName');
      return paired
        .groupBy('userTenantDomain', 'button')
        .aggregate((agg) => ({ n: agg.count() }))
        .map(({ key, value }) => ({ apiName: key.button, n: value.n }))
        .to(stream('Out'));
    },
  });
