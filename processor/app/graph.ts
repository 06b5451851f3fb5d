/**
 * The graph an app's DSL records: plain data, one node per operator, each naming the nodes it
 * reads from. The DSL (pipeline.ts) appends to it; compilation (topology.ts) checks it, cuts it
 * at repartition points and names what it needs in Kafka; nothing here runs user code.
 */

import type { WindowSpec } from '../windows/windows.ts';
import type { Aggregation } from './aggregations.ts';

export type NodeId = number;

/** A group or repartition key: fields of the event, or a function returning the key's fields. */
export type KeySpec =
  | { kind: 'fields'; fields: readonly string[] }
  | { kind: 'function'; fn: (event: unknown) => Record<string, unknown> };

export type EmitMode = 'onWindowClose' | 'onUpdate';

/**
 * How a groupBy stands to the partitioning: `auto` decides at compile time (only possible for
 * fields); `keep` promises the key keeps the current partitioning (checked per record);
 * `repartition` always goes through a repartition topic.
 */
export type Partitioning = 'auto' | 'keep' | 'repartition';

export interface AggregateNode {
  kind: 'aggregate';
  key: KeySpec;
  partitioning: Partitioning | undefined;
  window?: WindowSpec;
  aggregation: Aggregation<unknown, Record<string, unknown>, Record<string, unknown>>;
  emit: EmitMode;
  /** Names the store, its changelog and (when it repartitions) the repartition topic. */
  store: string | undefined;
  /** The repartition topic's partition count, when this aggregation repartitions. @default the input's */
  partitions?: number;
}

/** How a table is held: by every task whole (`global`), or per task, co-partitioned with the stream. */
export type TableKind = 'global' | 'partitioned';

/** A stream–table join: each event looks up the table row under its key (operators/table-join.ts has the semantics). */
export interface JoinNode {
  kind: 'join';
  /** `inner` drops an event without a row; `left` passes it on with a null row. */
  type: 'inner' | 'left';
  /** The table's stream in the configuration. */
  table: string;
  tableKind: TableKind;
  /** A partitioned table's version history (ms). */
  historyMs: number;
  /** The table key of an event: a field's value or a function's result (null or undefined: no row). */
  on: { kind: 'field'; field: string } | { kind: 'function'; fn: (event: unknown) => unknown };
  joiner: (event: unknown, row: unknown) => unknown;
}

/**
 * A stream–stream windowed join (operators/stream-join.ts has the semantics): a record of one
 * input joins every record of the other input with the same key and a time at most `withinMs`
 * apart. Its inputs are [left, right].
 */
export interface StreamJoinNode {
  kind: 'streamJoin';
  /** `left`: a left record that never matched is passed on with null once its window closed; `outer`: either side's. */
  type: 'inner' | 'left' | 'outer';
  /** The field holding the join key on each side (it must partition that side: co-partitioned). */
  on: { left: string; right: string };
  /** Undefined when the app did not say (refused at compile time). */
  withinMs: number | undefined;
  graceMs: number;
  /** Names its two stores `<name>-this` and `<name>-other` (default `join-<node id>`). */
  name: string | undefined;
  joiner: (left: unknown, right: unknown) => unknown;
}

export type NodeBody =
  | { kind: 'source'; stream: string }
  | { kind: 'filter'; fn: (event: unknown) => boolean }
  | { kind: 'map'; fn: (event: unknown) => unknown }
  | { kind: 'flatMap'; fn: (event: unknown) => Iterable<unknown> }
  | { kind: 'peek'; fn: (event: unknown) => void }
  /** Sends each event to the first arm whose predicate holds (none: dropped). */
  | { kind: 'branch'; arms: readonly { name: string; predicate: (event: unknown) => boolean }[] }
  /** One output of a branch: its input is the branch node. */
  | { kind: 'arm'; index: number; name: string }
  | { kind: 'merge' }
  | { kind: 'repartition'; name: string; key: KeySpec; partitions?: number }
  | AggregateNode
  | JoinNode
  | StreamJoinNode
  | { kind: 'sink'; stream: string };

export type NodeKind = NodeBody['kind'];

export type GraphNode = NodeBody & { id: NodeId; inputs: readonly NodeId[] };

/** The recorded graph; the DSL only ever appends, so ids are in creation order. */
export class Graph {
  readonly nodes: GraphNode[] = [];

  add(body: NodeBody, inputs: readonly NodeId[]): NodeId {
    const id = this.nodes.length;
    this.nodes.push({ ...body, id, inputs } as GraphNode);
    return id;
  }
}

/** How a node is shown in errors and in `sluice describe`. */
export function describeNode(node: GraphNode): string {
  switch (node.kind) {
    case 'source':
      return `source ${node.stream}`;
    case 'sink':
      return `to ${node.stream}`;
    case 'arm':
      return `branch arm "${node.name}"`;
    case 'branch':
      return `branch(${node.arms.map((arm) => arm.name).join(', ')})`;
    case 'repartition':
      return `repartition "${node.name}" by ${describeKey(node.key)}`;
    case 'aggregate': {
      const window = node.window ? ` ${node.window.kind} window` : ' running';
      return `groupBy(${describeKey(node.key)})${window} aggregate`;
    }
    case 'join': {
      const on = node.on.kind === 'field' ? node.on.field : 'key function';
      return `${node.type === 'left' ? 'left join' : 'join'} ${node.tableKind} table ${node.table} on ${on}`;
    }
    case 'streamJoin': {
      const on = node.on.left === node.on.right ? node.on.left : `${node.on.left} = ${node.on.right}`;
      const join = node.type === 'inner' ? 'join' : `${node.type} join`;
      return `stream ${join} on ${on} within ${node.withinMs ?? '?'} ms, grace ${node.graceMs} ms`;
    }
    default:
      return node.kind;
  }
}

/** The two stores of a stream–stream join: each side's records buffered for the other to find. */
export function streamJoinStores(node: StreamJoinNode & { id: NodeId }): [left: string, right: string] {
  const name = node.name ?? `join-${node.id}`;
  return [`${name}-this`, `${name}-other`];
}

export function describeKey(key: KeySpec): string {
  return key.kind === 'fields' ? key.fields.join(', ') : 'key function';
}
