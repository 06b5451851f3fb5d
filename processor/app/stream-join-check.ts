/**
 * What compilation refuses in a stream–stream join: a join field a side lacks, a missing or
 * negative `within`, a negative grace, and sides not co-partitioned on the join key (records of
 * one key must meet in one task: each side partitioned by its own join field, both alike).
 */
import type { StreamJoinNode } from './graph.ts';
import { describePartitioning, type PartitionedBy } from './topology.ts';

export function streamJoinProblems(
  node: StreamJoinNode,
  where: string,
  /** Per side (left, right): the fields known there, and how its records are partitioned. */
  sides: { fields: (ReadonlySet<string> | undefined)[]; partitioning: (PartitionedBy | undefined)[] },
): string[] {
  const problems: string[] = [];
  const on = [node.on.left, node.on.right] as const;
  on.forEach((field, side) => {
    if (sides.fields[side] && !sides.fields[side].has(field))
      problems.push(
        `${where}: the ${side === 0 ? 'left' : 'right'} events have no field '${field}' to join on`,
      );
  });
  if (node.withinMs === undefined || !Number.isSafeInteger(node.withinMs) || node.withinMs < 0) {
    problems.push(
      `${where}: a stream join needs within: the largest time difference (ms) between two records that join, e.g. { within: minutes(5) }`,
    );
  }
  if (!Number.isSafeInteger(node.graceMs) || node.graceMs < 0)
    problems.push(`${where}: grace must be a non-negative number of milliseconds`);
  const by = sides.partitioning;
  const byJoinKey = by.every((each, side) =>
    each?.kind === 'field'
      ? each.field === on[side]
      : each?.kind === 'key' &&
        each.key.kind === 'fields' &&
        each.key.fields.length === 1 &&
        each.key.fields[0] === on[side],
  );
  if (!byJoinKey || by[0]?.kind !== by[1]?.kind) {
    problems.push(
      `${where}: its sides are not co-partitioned on the join key (${by.map((each) => (each ? describePartitioning(each) : 'unknown')).join(' / ')}); ` +
        `join on each side's partition key, or repartition both sides by the join key first (.repartition({ name, by: ['<field>'] }))`,
    );
  }
  return problems;
}
