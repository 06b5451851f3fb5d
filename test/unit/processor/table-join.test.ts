import { describe, expect, it } from 'vitest';
import type { Request } from '../../../apps/api-analytics.ts';
import planUsage from '../../../apps/plan-usage.ts';
import { compileApp } from '../../../processor/app/compile.ts';
import { type App, defineApp, stream, table } from '../../../processor/app/define.ts';
import type { JoinNode } from '../../../processor/app/graph.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import { describeTopology } from '../../../processor/app/topology-description.ts';
import type { Item, ItemOrigin } from '../../../processor/operators/operator.ts';
import { createTableJoin } from '../../../processor/operators/table-join.ts';
import { fakeStream, requestFields, streamsOf } from './stream-fixtures.ts';

const streams = streamsOf(
  fakeStream('Request', requestFields, { partitionKey: 'userTenantDomain', eventTime: 'requestTimestamp' }),
  fakeStream('TenantPlan', ['tenant', 'plan', 'requestQuota', 'updatedAt'], {
    partitionKey: 'tenant',
    eventTime: 'updatedAt',
    table: true,
  }),
  fakeStream('PlanUsage', [], { partitionKey: 'plan' }),
  fakeStream('Out', [], { partitionKey: 'userTenantDomain' }),
);
const requests = stream<Request>('Request');
type Plan = { tenant: string; plan: string };
const plans = table<Plan>('TenantPlan');

const refusal = (compile: () => unknown) => {
  try {
    compile();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the app compiled');
};

const joining = (pipeline: Parameters<typeof defineApp<Request>>[0]['pipeline']): App =>
  defineApp({ id: 'joins', source: requests, pipeline });

describe('compiling stream–table joins', () => {
  it('lists the table, keeps the join in the stream side sub-topology and shows it in describe', () => {
    const topology = compileTopology(planUsage, streams);
    expect(topology.tables).toEqual([
      {
        name: 'TenantPlan',
        topic: 'tenantplan',
        kind: 'global',
        stream: streams.get('TenantPlan'),
        joins: [1],
      },
    ]);
    // grouping by the plan does not keep the tenant partitioning
    expect(topology.repartitions.map((each) => each.topic)).toEqual(['plan-usage-by-plan-repartition']);
    expect(topology.subtopologies.map((part) => part.nodes)).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
    const text = describeTopology(topology);
    expect(text).toContain(
      '1: left join global table TenantPlan on userTenantDomain ← 0  [table topic tenantplan, every task holds all of it]',
    );
    expect(text).toContain('  tables: TenantPlan (global, tenantplan)');
  });

  it('refuses an unknown table, a join field the events lack, and one table joined as two kinds', () => {
    const message = refusal(() =>
      compileTopology(
        joining((events) => {
          const joined = events.join(table<Plan>('Plans'), {
            on: 'userTenantDomain',
            joiner: (e, row) => ({ ...e, plan: row.plan }),
          });
          joined.to(stream('Out'));
          events
            .map((e) => ({ tenant: e.userTenantDomain }))
            .join(plans, { on: 'tenant', joiner: (e) => e })
            .to(stream('Out'));
          events
            .join(table<Plan>('TenantPlan', { kind: 'partitioned' }), {
              on: 'userTenantDomain',
              joiner: (e) => e,
            })
            .to(stream('Out'));
          // a field sluice knows the events lack (the type system is bypassed, as a JS app could)
          events.join(plans, { on: 'tenant' as 'apiName', joiner: (e) => e }).to(stream('Out'));
          // a stream that is not declared as a table
          events.join(table<Plan>('Out'), { on: 'userTenantDomain', joiner: (e) => e }).to(stream('Out'));
        }),
        streams,
      ),
    );
    expect(message).toContain('table "Plans" is not in the configuration\'s streams');
    expect(message).toContain(
      "node 8 (join global table TenantPlan on tenant): the events have no field 'tenant' to join on",
    );
    expect(message).toContain(
      'node 10 (join global table Out on userTenantDomain): stream "Out" is not declared as a table; set streams.Out.table: true',
    );
    // graph order: the partitioned join (node 6) comes first, the global ones disagree with it
    expect(message).toContain(
      'node 4 (join global table TenantPlan on tenant): table "TenantPlan" is joined as global and as partitioned elsewhere',
    );
    // after a map sluice does not know the fields: no complaint about node 4's 'tenant'
    expect(message).not.toContain(
      'node 4 (join global table TenantPlan on tenant): the events have no field',
    );
  });

  it('refuses to run a partitioned table (not held by tasks yet) with what to use instead', () => {
    const app = joining((events) =>
      events
        .join(table<Plan>('TenantPlan', { kind: 'partitioned' }), {
          on: 'userTenantDomain',
          joiner: (e) => e,
        })
        .to(stream('Out')),
    );
    expect(describeTopology(compileTopology(app, streams))).toContain('co-partitioned, per task');
    expect(refusal(() => compileApp(app, streams))).toContain(
      "it joins with table TenantPlan as a partitioned table, which tasks do not hold yet (declare it with table<T>('TenantPlan'), a global table)",
    );
  });
});

const origin: ItemOrigin = { topic: 'in', partition: 0, offset: '0', key: null, value: null, headers: {} };
const item = (value: unknown, offset = 0): Item => ({
  value,
  timestamp: 1000 + offset,
  streamTime: 1000 + offset,
  partitionKey: undefined,
  origin: { ...origin, offset: String(offset) },
  derived: false,
});

function joinNode(type: JoinNode['type'], on: JoinNode['on'] = { kind: 'field', field: 'tenant' }): JoinNode {
  return {
    kind: 'join',
    type,
    table: 'TenantPlan',
    tableKind: 'global',
    on,
    joiner: (event, row) => {
      const { tenant } = event as { tenant: string };
      if (tenant === 'explodes') throw new Error('boom');
      return { tenant, plan: (row as Plan | null)?.plan ?? null };
    },
  };
}

function run(node: JoinNode, events: unknown[]) {
  const rows = new Map<string, unknown>([
    ['a', { tenant: 'a', plan: 'gold' }],
    ['b', { tenant: 'b', plan: 'free' }],
    ['explodes', { tenant: 'explodes', plan: 'gold' }],
  ]);
  const letters: { offset: string; message: string }[] = [];
  const operator = createTableJoin(node, rows, {
    deadLetter: (place, _stage, error) =>
      letters.push({ offset: place.offset, message: (error as Error).message }),
    output: () => undefined,
  });
  const out = operator.process(events.map((event, index) => item(event, index)));
  return { values: out.map((each) => each.value), offsets: out.map((each) => each.origin.offset), letters };
}

describe('the stream–table join operator', () => {
  const events = [{ tenant: 'a' }, { tenant: 'nobody' }, { tenant: 'b' }, { tenant: 'a' }];

  it('inner: joins the row of each key and drops events without one', () => {
    const { values, offsets } = run(joinNode('inner'), events);
    expect(values).toEqual([
      { tenant: 'a', plan: 'gold' },
      { tenant: 'b', plan: 'free' },
      { tenant: 'a', plan: 'gold' },
    ]);
    expect(offsets).toEqual(['0', '2', '3']); // the joined item keeps its place and time
  });

  it('left: passes an event without a row on with null', () => {
    expect(run(joinNode('left'), events).values).toEqual([
      { tenant: 'a', plan: 'gold' },
      { tenant: 'nobody', plan: null },
      { tenant: 'b', plan: 'free' },
      { tenant: 'a', plan: 'gold' },
    ]);
  });

  it('treats a null key as no row, and dead-letters a non-string key and a throwing joiner', () => {
    const byFunction = joinNode('left', {
      kind: 'function',
      fn: (event) => (event as { tenant: unknown }).tenant,
    });
    const { values, letters } = run(byFunction, [
      { tenant: null },
      { tenant: 42 },
      { tenant: 'explodes' },
      { tenant: 'b' },
    ]);
    expect(values).toEqual([
      { tenant: null, plan: null },
      { tenant: 'b', plan: 'free' },
    ]);
    expect(letters).toEqual([
      { offset: '1', message: 'join with TenantPlan: the key function gave number 42, not a string key' },
      { offset: '2', message: 'join with TenantPlan threw: boom' },
    ]);
    // inner: a null key joins nothing
    expect(run(joinNode('inner', byFunction.on), [{ tenant: undefined }]).values).toEqual([]);
  });
});
