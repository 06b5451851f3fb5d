/**
 * A stream–table join as an Operator: each item's table key (a field's value or the app's key
 * function) is looked up in the table, and `joiner(event, row)` is passed on with the item's time
 * and partitioning. Inner: an item without a row is dropped. Left: it is joined with null.
 * - a global table answers with its latest row (the table's state when the task processes the item);
 * - a partitioned table answers with the row as of the item's event time (its last version with a
 *   record timestamp at or before it), read from the task's table store in `load`.
 * A key that is neither a string nor null/undefined, a throwing key function or joiner, or a
 * table row that cannot be decoded, is dead-lettered.
 */
import type { JoinNode } from '../app/graph.ts';
import type { TableLookup } from '../tables/global-tables.ts';
import type { PartitionedTable } from '../tables/partitioned-table.ts';
import { guarded, type Item, type Operator, type OperatorContext, UserCodeError } from './operator.ts';

export type JoinedTable =
  | { kind: 'global'; rows: TableLookup }
  | { kind: 'partitioned'; table: Pick<PartitionedTable, 'rowsAsOf'> };

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

export function createTableJoin(node: JoinNode, source: JoinedTable, context: OperatorContext): Operator {
  /** Each item's key: null for no row, undefined when the key could not be computed (dead-lettered). */
  let keys = new Map<Item, string | null | undefined>();
  /** Rows read by `load` for the current batch (partitioned tables). */
  let loaded = new Map<Item, unknown>();
  const keyFor = (item: Item) => {
    if (!keys.has(item))
      keys.set(
        item,
        guarded(context, item, `join key of ${node.table}`, () => keyOf(node, item.value) ?? null),
      );
    return keys.get(item);
  };

  return {
    async load(items) {
      if (source.kind !== 'partitioned') return;
      const wanted = items.filter((item) => typeof keyFor(item) === 'string');
      const rows = await source.table.rowsAsOf(
        wanted.map((item) => ({ key: keys.get(item) as string, timestamp: item.timestamp })),
      );
      loaded = new Map(wanted.map((item, index) => [item, rows[index]]));
    },

    process(items) {
      const out = items.flatMap((item): Item[] => {
        const key = keyFor(item);
        if (key === undefined) return []; // dead-lettered
        const row =
          key === null ? undefined : source.kind === 'global' ? source.rows.get(key) : loaded.get(item);
        if (row instanceof Error) {
          context.deadLetter(item.origin, item.derived ? 'emit' : 'process', row);
          return [];
        }
        if (row === undefined && node.type === 'inner') return [];
        const value = guarded(context, item, `join with ${node.table}`, () =>
          node.joiner(item.value, row ?? null),
        );
        return value === undefined ? [] : [{ ...item, value }];
      });
      keys = new Map();
      loaded = new Map();
      return out;
    },
  };
}
