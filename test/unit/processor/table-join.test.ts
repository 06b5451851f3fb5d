import { describe, expect, it } from 'vitest';
import planUsage from '../../../apps/plan-usage.ts';
import { compileApp } from '../../../processor/app/compile.ts';
import { type App, defineApp, stream, table } from '../../../processor/app/define.ts';
import type { JoinNode } from '../../../processor/app/graph.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import { describeTopology } from '../../../processor/app/topology-description.ts';
import type { Item, ItemOrigin } from '../../../processor/operators/operator.ts';
import { createTableJoin } from '../../../processor/operators/table-join.ts';
import { createMemoryStore } from '../../../processor/state/memory-store.ts';
import type { PartitionedTable } from '../../../processor/tables/partitioned-table.ts';
import {
  rowAsOf,
  supersededVersions,
  versionKey,
  versionValue,
} from '../../../processor/tables/versioned-rows.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, refusal, requestFields, streamsOf } from './stream-fixtures.ts';

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
        historyMs: 24 * 3_600_000, // unused by a global table
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

  it('runs a partitioned table joined on the partition key, and refuses one joined on another key', () => {
    const onPartitionKey = joining((events) =>
      events
        .join(table<Plan>('TenantPlan', { kind: 'partitioned' }), {
          on: 'userTenantDomain',
          joiner: (e) => e,
        })
        .to(stream('Out')),
    );
    expect(compileApp(onPartitionKey, streams).topology.tables[0]).toMatchObject({ kind: 'partitioned' });
    expect(describeTopology(compileTopology(onPartitionKey, streams))).toContain('co-partitioned, per task');
    const message = refusal(() =>
      compileTopology(
        joining((events) => {
          const partitioned = table<Plan>('TenantPlan', { kind: 'partitioned' });
          events.join(partitioned, { on: 'apiName', joiner: (e) => e }).to(stream('Out'));
          events.join(partitioned, { on: (e) => e.userTenantDomain, joiner: (e) => e }).to(stream('Out'));
        }),
        streams,
      ),
    );
    expect(message).toContain(
      "node 1 (join partitioned table TenantPlan on apiName): a partitioned table is joined on the partition key of the stream's input records (the partition key 'userTenantDomain'); join on that field, or use a global table (table<T>('TenantPlan'))",
    );
    expect(message).toContain(
      'node 3 (join partitioned table TenantPlan on key function): a partitioned table',
    );
  });

  it('refuses one table joined with two histories, and a history that is not a duration', () => {
    const message = refusal(() =>
      compileTopology(
        joining((events) => {
          const week = table<Plan>('TenantPlan', { kind: 'partitioned', history: 7 * 86_400_000 });
          events.join(week, { on: 'userTenantDomain', joiner: (e) => e }).to(stream('Out'));
          events
            .join(table<Plan>('TenantPlan', { kind: 'partitioned' }), {
              on: 'userTenantDomain',
              joiner: (e) => e,
            })
            .to(stream('Out'));
        }),
        streams,
      ),
    );
    expect(message).toContain(
      'table "TenantPlan" is joined with two histories (604800000 and 86400000 ms); declare it once and reuse it',
    );
    expect(() => table('TenantPlan', { kind: 'partitioned', history: -1 })).toThrow(
      'table TenantPlan: history must be a non-negative number of milliseconds',
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
    historyMs: 0,
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
  const operator = createTableJoin(
    node,
    { kind: 'global', rows },
    {
      deadLetter: (place, _stage, error) =>
        letters.push({ offset: place.offset, message: (error as Error).message }),
      output: () => undefined,
    },
  );
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

describe('versioned rows of a partitioned table', () => {
  it('answers the last version at or before a time; a deletion or no version means no row', async () => {
    const store = createMemoryStore();
    const version = (key: string, at: number, value: string | null) =>
      [versionKey(key, at), versionValue(value === null ? null : Buffer.from(value))] as const;
    await store.write(
      {
        puts: [
          version('a', 1000, 'gold'),
          version('a', 2000, 'platinum'),
          version('b', 1000, 'free'),
          version('b', 3000, null),
          // a key that extends another's bytes stays apart (keys are length-prefixed)
          version('ab', 500, 'other'),
        ],
        deletes: [],
      },
      '5',
    );
    const at = async (key: string, time: number) => (await rowAsOf(store, key, time))?.toString();
    expect(await at('a', 999)).toBeUndefined();
    expect(await at('a', 1000)).toBe('gold');
    expect(await at('a', 1999)).toBe('gold');
    expect(await at('a', 2000)).toBe('platinum');
    expect(await at('a', 10_000)).toBe('platinum');
    expect(await at('b', 2999)).toBe('free');
    expect(await at('b', 3000)).toBeUndefined();
    expect(await at('ab', 600)).toBe('other');
    expect(await at('nobody', 5000)).toBeUndefined();
  });

  it('drops the versions the history no longer needs, keeping the row valid at the cutoff', async () => {
    const store = createMemoryStore();
    const at = (time: number) => [versionKey('a', time), versionValue(Buffer.from(String(time)))] as const;
    await store.write({ puts: [at(1000), at(2000), at(3000), at(9000)], deletes: [] }, '5');
    // a new version at 10 000 with a history of 7 500: the cutoff is 2 500
    const superseded = await supersededVersions(store, 'a', 10_000 - 7_500);
    expect(superseded).toEqual([versionKey('a', 1000)]);
    await store.write({ puts: [], deletes: superseded }, '6');
    expect(await rowAsOf(store, 'a', 1500)).toBeUndefined(); // beyond the history
    expect((await rowAsOf(store, 'a', 2500))?.toString()).toBe('2000'); // still the row at the cutoff
    expect(await supersededVersions(store, 'a', -1)).toEqual([]);
  });

  it('joins each item with the row as of its event time, read in load', async () => {
    const asked: { key: string; timestamp: number }[][] = [];
    const versions: Record<string, [number, unknown][]> = {
      a: [
        [1000, { plan: 'gold' }],
        [2000, { plan: 'platinum' }],
      ],
      broken: [[0, new Error('the row of table TenantPlan cannot be decoded: bad')]],
    };
    const table: Pick<PartitionedTable, 'rowsAsOf'> = {
      async rowsAsOf(lookups) {
        asked.push([...lookups]);
        return lookups.map(
          ({ key, timestamp }) => (versions[key] ?? []).filter(([at]) => at <= timestamp).at(-1)?.[1],
        );
      },
    };
    const letters: string[] = [];
    const operator = createTableJoin(
      { ...joinNode('left'), tableKind: 'partitioned' },
      { kind: 'partitioned', table },
      {
        deadLetter: (_place, _stage, error) => letters.push((error as Error).message),
        output: () => undefined,
      },
    );
    const items = [
      { ...item({ tenant: 'a' }), timestamp: 500 },
      { ...item({ tenant: 'a' }), timestamp: 1500 },
      { ...item({ tenant: 'a' }), timestamp: 2500 },
      { ...item({ tenant: 'broken' }), timestamp: 100 },
    ];
    await operator.load!(items);
    expect(operator.process(items).map((each) => each.value)).toEqual([
      { tenant: 'a', plan: null },
      { tenant: 'a', plan: 'gold' },
      { tenant: 'a', plan: 'platinum' },
    ]);
    expect(asked).toEqual([
      [
        { key: 'a', timestamp: 500 },
        { key: 'a', timestamp: 1500 },
        { key: 'a', timestamp: 2500 },
        { key: 'broken', timestamp: 100 },
      ],
    ]);
    expect(letters).toEqual(['the row of table TenantPlan cannot be decoded: bad']);
  });
});
