/**
 * Repartition topics with their own partition count: the DSL (`repartition({ partitions })`,
 * `aggregate(..., { partitions })`), the configuration's override, refusals, `describe`, and how
 * partition numbers are owned when sub-topologies have different counts.
 */
import { describe, expect, it } from 'vitest';
import { compileApp } from '../../../processor/app/compile.ts';
import { type App, defineApp, minutes, stream, tumbling } from '../../../processor/app/define.ts';
import { compileTopology } from '../../../processor/app/topology.ts';
import { describeTopology } from '../../../processor/app/topology-description.ts';
import { appPartitions, groupPartitions, slotPartitions } from '../../../processor/app-partitions.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { fakeStream, refusal, requestFields, streamsOf } from './stream-fixtures.ts';

const streams = streamsOf(
  fakeStream('Request', requestFields, {
    partitionKey: 'userTenantDomain',
    eventTime: 'requestTimestamp',
    partitions: 4,
  }),
  fakeStream('Out', [], { partitionKey: 'apiName' }),
);
const requests = stream<Request>('Request');
type Count = { apiName: string; n: number };

/** Two repartitions: an explicit one (8 partitions) and an aggregation's (by the app: 6, or not said). */
const app = (byApiPartitions?: number) =>
  defineApp({
    id: 'counts',
    source: requests,
    pipeline: (events) =>
      events
        .repartition({ name: 'by-backend', by: ['apiName', 'apiVersion'], partitions: 8 })
        .groupBy('apiName')
        .window(tumbling({ size: minutes(1) }))
        .aggregate((agg) => ({ n: agg.count() }), {
          store: 'by-api',
          ...(byApiPartitions === undefined ? {} : { partitions: byApiPartitions }),
        })
        .map(({ key, value }): Count => ({ apiName: key.apiName, n: value.n }))
        .to(stream<Count>('Out')),
  });

describe('repartition partition counts', () => {
  it('takes the count from the DSL, else leaves the input’s; the configuration overrides both', () => {
    const counts = (app: App, overrides = {}) =>
      compileTopology(app, streams, { repartitionPartitions: overrides }).repartitions.map((each) => [
        each.name,
        each.partitions,
      ]);
    expect(counts(app(6))).toEqual([
      ['by-backend', 8],
      ['by-api', 6],
    ]);
    expect(counts(app())).toEqual([
      ['by-backend', 8],
      ['by-api', undefined],
    ]);
    expect(counts(app(6), { 'by-api': 2, 'by-backend': 3 })).toEqual([
      ['by-backend', 3],
      ['by-api', 2],
    ]);
  });

  it('gives every sub-topology its count, and owners partition numbers up to the largest', () => {
    const partitions = appPartitions(compileApp(app(), streams), 4);
    expect(partitions.subtopologies).toEqual([4, 8, 4]);
    expect(partitions.max).toBe(8);
    expect([...partitions.topics]).toEqual([
      ['counts-by-backend-repartition', 8],
      ['counts-by-api-repartition', 4],
    ]);
  });

  it('refuses a count on a grouping that keeps the partitioning, a count that is not positive, and an override of no repartition', () => {
    const keeps = defineApp({
      id: 'keeps',
      source: requests,
      pipeline: (events) =>
        events
          .groupBy('userTenantDomain')
          .aggregate((agg) => ({ n: agg.count() }), { partitions: 6 })
          .map(({ value }): Count => ({ apiName: 'all', n: value.n }))
          .to(stream<Count>('Out')),
    });
    expect(refusal(() => compileTopology(keeps, streams))).toContain(
      'partitions (6) is the count of a repartition topic, but this grouping keeps the partitioning and does not repartition',
    );
    expect(refusal(() => compileTopology(app(0), streams))).toContain(
      'partitions must be a positive integer, not 0',
    );
    expect(
      refusal(() => compileTopology(app(), streams, { repartitionPartitions: { 'by-apii': 3 } })),
    ).toContain(
      'processor.repartitionPartitions names "by-apii", which is not a repartition of the app (its repartitions: by-backend, by-api)',
    );
  });

  it('describes each repartition with its count', () => {
    const text = describeTopology(compileTopology(app(), streams));
    expect(text).toContain('reads counts-by-backend-repartition, 8 partitions');
    expect(text).toContain("reads counts-by-api-repartition, the input's partition count");
  });

  it('owns every partition number of every sub-topology exactly once, by slot (p mod S) or by group assignment', () => {
    for (const [slots, max] of [
      [2, 6],
      [3, 8],
      [4, 4],
    ] as const) {
      const owned = Array.from({ length: slots }, (_, slot) => slotPartitions(max, slots, slot));
      expect(owned.flat().sort((a, b) => a - b)).toEqual([...Array(max).keys()]);
      owned.forEach((numbers, slot) => {
        expect(numbers.every((p) => p % slots === slot)).toBe(true);
      });
    }
    // two group members with input partitions {0, 3} and {1, 2} of 4; sub-topologies up to 10
    const partitions = { source: 4, subtopologies: [4, 10], topics: new Map(), max: 10 };
    const a = groupPartitions(partitions, [0, 3]);
    const b = groupPartitions(partitions, [1, 2]);
    expect(a).toEqual([0, 3, 4, 7, 8]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
  });
});
