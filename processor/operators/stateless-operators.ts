/** The operators without state: filter, map, flatMap, peek, branch and its arms, merge, and sinks. */
import type { OutgoingRecord } from '../../common/kafka/index.ts';
import type { Stream } from '../../schemas/streams.ts';
import type { GraphNode } from '../app/graph.ts';
import { guarded, type Item, type Operator, type OperatorContext, UserCodeError } from './operator.ts';

type StatelessNode = Exclude<
  GraphNode,
  { kind: 'aggregate' | 'source' | 'sink' | 'repartition' | 'join' | 'streamJoin' }
>;

export function createStatelessOperator(node: StatelessNode, context: OperatorContext): Operator {
  switch (node.kind) {
    case 'filter':
      return {
        process: (items) =>
          items.filter((item) => guarded(context, item, 'filter', () => node.fn(item.value)) === true),
      };
    case 'map':
      return {
        process: (items) =>
          items.flatMap((item) => {
            const value = guarded(context, item, 'map', () => node.fn(item.value));
            return value === undefined ? [] : [{ ...item, value }];
          }),
      };
    case 'flatMap':
      return {
        process: (items) =>
          items.flatMap((item) => {
            const values = guarded(context, item, 'flatMap', () => [...node.fn(item.value)]);
            return (values ?? []).map((value) => ({ ...item, value }));
          }),
      };
    case 'peek':
      return {
        process: (items) =>
          items.filter(
            (item) =>
              guarded(context, item, 'peek', () => {
                node.fn(item.value);
                return true;
              }) === true,
          ),
      };
    case 'branch':
      return {
        process: (items) =>
          items.flatMap((item) => {
            const arm = guarded(context, item, 'branch', () =>
              node.arms.findIndex((each) => each.predicate(item.value)),
            );
            return arm === undefined || arm < 0 ? [] : [{ ...item, arm }];
          }),
      };
    case 'arm':
      return {
        process: (items) =>
          items.filter((item) => item.arm === node.index).map(({ arm: _, ...item }) => item),
      };
    case 'merge':
      return { process: (items) => [...items] };
  }
}

/** Encodes each item with the sink stream's schema, keyed by its partition key; a mismatch is dead-lettered. */
export function createSinkOperator(
  sink: Stream,
  encode: (value: unknown) => Buffer,
  context: OperatorContext,
): Operator {
  const toRecord = (value: unknown): OutgoingRecord => {
    const key = (value as Record<string, unknown>)[sink.partitionKey];
    if (typeof key !== 'string' || key === '') {
      throw new UserCodeError(`the output has no ${sink.partitionKey} (the sink's partition key)`);
    }
    try {
      return { topic: sink.topic, key, value: encode(value) };
    } catch (error) {
      throw new UserCodeError(
        `the output does not match schema ${sink.schema.name}: ${(error as Error).message}`,
      );
    }
  };
  return {
    process(items: readonly Item[]) {
      for (const item of items) {
        try {
          context.output(toRecord(item.value));
        } catch (error) {
          context.deadLetter(item.origin, 'emit', error);
        }
      }
      return [];
    },
  };
}
