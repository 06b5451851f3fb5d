/**
 * A stream–table join as an Operator: each item's table key (a field's value or the app's key
 * function) is looked up in the table, and `joiner(event, row)` is passed on with the item's time
 * and partitioning. Inner: an item without a row is dropped. Left: it is joined with null.
 * A global table answers with its latest row (the table's state when the task processes the item).
 * A key that is neither a string nor null/undefined, or a throwing key function or joiner, is
 * dead-lettered.
 */
import type { JoinNode } from '../app/graph.ts';
import type { TableLookup } from '../tables/global-tables.ts';
import { guarded, type Item, type Operator, type OperatorContext, UserCodeError } from './operator.ts';

function keyOf(node: JoinNode, event: unknown): string | undefined {
  const key =
    node.on.kind === 'field' ? (event as Record<string, unknown>)[node.on.field] : node.on.fn(event);
  if (key === null || key === undefined) return undefined;
  if (typeof key !== 'string') {
    const what = node.on.kind === 'field' ? `field ${node.on.field}` : 'the key function';
    throw new UserCodeError(
      `join with ${node.table}: ${what} gave ${typeof key} ${String(key)}, not a string key`,
    );
  }
  return key;
}

export function createTableJoin(node: JoinNode, table: TableLookup, context: OperatorContext): Operator {
  return {
    process: (items) =>
      items.flatMap((item): Item[] => {
        const key = guarded(
          context,
          item,
          `join key of ${node.table}`,
          () => keyOf(node, item.value) ?? null,
        );
        if (key === undefined) return []; // dead-lettered
        const row = key === null ? undefined : table.get(key);
        if (row === undefined && node.type === 'inner') return [];
        const value = guarded(context, item, `join with ${node.table}`, () =>
          node.joiner(item.value, row ?? null),
        );
        return value === undefined ? [] : [{ ...item, value }];
      }),
  };
}
