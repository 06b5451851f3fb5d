/**
 * Group keys as the store and the emitted results see them. A key of fields is their values in
 * order; a key function's result travels as [name, value, name, value...] so the emitted `key`
 * object can be rebuilt without knowing its names in advance.
 */
import type { GroupingPlan } from './topology.ts';

export function groupOf(grouping: Pick<GroupingPlan, 'key'>, event: unknown): unknown[] {
  const { key } = grouping;
  if (key.kind === 'fields') return key.fields.map((field) => (event as Record<string, unknown>)[field]);
  const computed = key.fn(event);
  if (typeof computed !== 'object' || computed === null) {
    throw new Error(`the groupBy key function returned ${String(computed)}, not an object of key fields`);
  }
  return Object.entries(computed).flat();
}

export function keyObject(
  grouping: Pick<GroupingPlan, 'key'>,
  group: readonly unknown[],
): Record<string, unknown> {
  const { key } = grouping;
  if (key.kind === 'fields')
    return Object.fromEntries(key.fields.map((field, index) => [field, group[index]]));
  const entries: [string, unknown][] = [];
  for (let index = 0; index < group.length; index += 2)
    entries.push([String(group[index]), group[index + 1]]);
  return Object.fromEntries(entries);
}
