/**
 * Compiles an app's graph against the configured streams into sub-topologies: checks it (known
 * streams, event time, unique stores, a partitioning decision for every grouping, no cycle),
 * decides where records must be repartitioned, cuts the graph there and names everything it
 * owns in Kafka. Pure: no I/O, no user code run. Every problem is reported at once.
 *
 * A sub-topology is a connected part of the graph between repartition topics; task `<s>_<p>`
 * runs sub-topology s over partition p of each of its inputs.
 */
import { SluiceError } from '../../common/errors.ts';
import type { Stream } from '../../schemas/streams.ts';
import { changelogTopic, repartitionTopic } from '../topics.ts';
import type { WindowSpec } from '../windows/windows.ts';
import type { App } from './define.ts';
import {
  type AggregateNode,
  describeNode,
  type GraphNode,
  type KeySpec,
  type NodeId,
  streamJoinStores,
  type TableKind,
} from './graph.ts';
import { streamJoinProblems } from './stream-join-check.ts';

/** How the records reaching a node are spread over partitions. */
export type PartitionedBy =
  /** by a field of the source events (the stream's partition key), checked per record */
  | { kind: 'field'; field: string }
  /** by a repartition key */
  | { kind: 'key'; key: KeySpec; topic: string };

/** The grouped aggregation a task runs, with its store (the name reused by operators and queries). */
export interface GroupingPlan extends Omit<AggregateNode, 'kind' | 'store' | 'partitioning'> {
  /** The key's field names (empty for a key function: the key names travel with each group). */
  fields: string[];
  store: string;
}

export interface StorePlan {
  name: string;
  changelogTopic: string;
  subtopology: number;
  node: NodeId;
  window?: WindowSpec;
  /** How long a record stays in a stream join's store (within + grace): its changelog keeps at least that. */
  retentionMs?: number;
}

export interface RepartitionPlan {
  name: string;
  topic: string;
  /** The sub-topology that writes it (keyed by `key`) and the one that reads it. */
  from: number;
  to: number;
  key: KeySpec;
  /** The node that reads it: an aggregation or an explicit repartition. */
  reader: NodeId;
  /** Its partition count as the app asks (config may override). @default the input's */
  partitions?: number;
}

/** A table the app joins with: read from its compacted topic, held globally or per task. */
export interface TablePlan {
  /** Its stream name in the configuration. */
  name: string;
  topic: string;
  kind: TableKind;
  /** How long superseded versions stay (partitioned tables). */
  historyMs: number;
  stream: Stream;
  /** The join nodes that read it. */
  joins: NodeId[];
}

export type SubtopologyInput =
  | { kind: 'stream'; stream: string; topic: string; node: NodeId }
  | { kind: 'repartition'; name: string; topic: string; node: NodeId };

export interface Subtopology {
  id: number;
  inputs: SubtopologyInput[];
  /** Its nodes in an order where every node comes after its inputs. */
  nodes: NodeId[];
  stores: string[];
  sinks: string[];
  /** Repartition topics it writes. */
  writes: string[];
}

export interface Topology {
  appId: string;
  nodes: readonly GraphNode[];
  /** Downstream nodes of each node, in the same sub-topology or across a repartition. */
  children: ReadonlyMap<NodeId, readonly NodeId[]>;
  subtopologyOf: ReadonlyMap<NodeId, number>;
  subtopologies: Subtopology[];
  stores: StorePlan[];
  repartitions: RepartitionPlan[];
  /** The grouping of each aggregate node, with its store name resolved. */
  groupings: ReadonlyMap<NodeId, GroupingPlan>;
  partitioning: ReadonlyMap<NodeId, PartitionedBy>;
  sources: Stream[];
  sinks: Stream[];
  tables: TablePlan[];
}

/** Task ids as Kafka Streams writes them: `<sub-topology>_<partition>`. */
export function taskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`;
}

/**
 * The `partition` label of a task's metrics: the partition number for sub-topology 0 (as before
 * sub-topologies existed), the task id for the others, so two tasks never share a series.
 */
export function taskMetricLabel(subtopology: number, partition: number): string {
  return subtopology === 0 ? String(partition) : taskId(subtopology, partition);
}

/** The store name an aggregation gets when the app does not name it (today's apps keep theirs). */
export const defaultStoreName = 'aggregates';

/** Kahn's order; the nodes left over sit on a cycle. */
function topologicalOrder(nodes: readonly GraphNode[]): { order: NodeId[]; cyclic: NodeId[] } {
  const pending = new Map(nodes.map((node) => [node.id, node.inputs.length]));
  const children = childrenOf(nodes);
  const ready = nodes.filter((node) => node.inputs.length === 0).map((node) => node.id);
  const order: NodeId[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const child of children.get(id) ?? []) {
      const left = pending.get(child)! - 1;
      pending.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return { order, cyclic: nodes.filter((node) => !order.includes(node.id)).map((node) => node.id) };
}

function childrenOf(nodes: readonly GraphNode[]): Map<NodeId, NodeId[]> {
  const children = new Map<NodeId, NodeId[]>(nodes.map((node) => [node.id, []]));
  for (const node of nodes) for (const input of node.inputs) children.get(input)?.push(node.id);
  return children;
}

/** Shape-keeping operators: the fields known after them are those before them. */
const keepsShape = new Set<GraphNode['kind']>(['filter', 'peek', 'branch', 'arm', 'merge', 'repartition']);

function keepsPartitioning(key: KeySpec, by: PartitionedBy): boolean {
  if (key.kind !== 'fields') return false;
  if (by.kind === 'field') return key.fields.includes(by.field);
  // records of one new key share their old key only if the old key's fields are all in the new one
  return by.key.kind === 'fields' && by.key.fields.every((field) => key.fields.includes(field));
}

const samePartitioning = (a: PartitionedBy, b: PartitionedBy) =>
  a.kind === 'field' ? b.kind === 'field' && a.field === b.field : b.kind === 'key' && a.topic === b.topic;

export const describePartitioning = (by: PartitionedBy) =>
  by.kind === 'field' ? `the partition key '${by.field}'` : `the repartition topic ${by.topic}`;

export interface TopologyOverrides {
  /** Partition counts of repartition topics by repartition name (processor.repartitionPartitions). */
  repartitionPartitions?: Readonly<Record<string, number>>;
}

export function compileTopology(
  app: App,
  streams: ReadonlyMap<string, Stream>,
  overrides: TopologyOverrides = {},
): Topology {
  const nodes = app.graph.nodes;
  const problems: string[] = [];
  const known = [...streams.keys()].join(', ') || 'none';
  const where = (node: GraphNode) => `node ${node.id} (${describeNode(node)})`;

  for (const node of nodes) {
    for (const input of node.inputs) {
      if (!nodes[input]) problems.push(`${where(node)} reads node ${input}, which does not exist`);
    }
  }
  const { order, cyclic } = topologicalOrder(nodes);
  if (cyclic.length > 0) {
    problems.push(`the graph has a cycle through nodes ${cyclic.join(', ')}: a stream cannot feed itself`);
  }

  const sources: Stream[] = [];
  const sinks: Stream[] = [];
  const tables: TablePlan[] = [];
  const fieldsAt = new Map<NodeId, ReadonlySet<string> | undefined>();
  const partitioning = new Map<NodeId, PartitionedBy>();
  const repartitionAt = new Map<NodeId, { name: string; key: KeySpec; partitions?: number }>();
  const checkPartitions = (node: GraphNode, partitions: number | undefined) => {
    if (partitions !== undefined && !(Number.isSafeInteger(partitions) && partitions > 0)) {
      problems.push(`${where(node)}: partitions must be a positive integer, not ${partitions}`);
    }
  };
  const groupings = new Map<NodeId, GroupingPlan>();
  const storeNodes = new Map<string, NodeId[]>();

  for (const id of order) {
    const node = nodes[id]!;
    const input = node.inputs[0];
    const inputFields = input === undefined ? undefined : fieldsAt.get(input);
    const inputPartitioning = input === undefined ? undefined : partitioning.get(input);
    const checkFields = (key: KeySpec) => {
      if (key.kind !== 'fields' || !inputFields) return;
      for (const field of key.fields) {
        if (!inputFields.has(field)) problems.push(`${where(node)}: the events have no field '${field}'`);
      }
    };
    switch (node.kind) {
      case 'source': {
        const stream = streams.get(node.stream);
        if (!stream) {
          problems.push(`source stream "${node.stream}" is not in the configuration's streams (${known})`);
          continue;
        }
        if (stream.eventTime === undefined) {
          problems.push(
            `source stream "${stream.name}" needs an eventTime field (streams.${stream.name}.eventTime)`,
          );
        }
        if (!sources.includes(stream)) sources.push(stream);
        fieldsAt.set(id, stream.fieldNames);
        partitioning.set(id, { kind: 'field', field: stream.partitionKey });
        continue;
      }
      case 'sink': {
        const stream = streams.get(node.stream);
        if (!stream)
          problems.push(`sink stream "${node.stream}" is not in the configuration's streams (${known})`);
        else if (!sinks.includes(stream)) sinks.push(stream);
        continue;
      }
      case 'merge': {
        const inputs = node.inputs.map((each) => partitioning.get(each));
        const first = inputs[0];
        if (first && inputs.some((each) => each && !samePartitioning(first, each))) {
          problems.push(
            `${where(node)}: its inputs are partitioned differently (${inputs.map((each) => each && describePartitioning(each)).join(' / ')}); repartition them alike before merging`,
          );
        }
        if (first) partitioning.set(id, first);
        fieldsAt.set(id, inputFields);
        continue;
      }
      case 'repartition': {
        checkFields(node.key);
        checkPartitions(node, node.partitions);
        repartitionAt.set(id, { name: node.name, key: node.key, partitions: node.partitions });
        partitioning.set(id, { kind: 'key', key: node.key, topic: repartitionTopic(app.id, node.name) });
        fieldsAt.set(id, inputFields);
        continue;
      }
      case 'aggregate': {
        checkFields(node.key);
        const store = node.store ?? defaultStoreName;
        storeNodes.set(store, [...(storeNodes.get(store) ?? []), id]);
        groupings.set(id, {
          key: node.key,
          fields: node.key.kind === 'fields' ? [...node.key.fields] : [],
          window: node.window,
          aggregation: node.aggregation,
          emit: node.emit,
          store,
        });
        let repartitions: boolean;
        if (node.partitioning === undefined) {
          problems.push(
            `${where(node)}: sluice cannot tell whether a key function keeps the partitioning; ` +
              `say so with groupBy(fn, { repartition: true }) (records move through a repartition topic) ` +
              `or { repartition: false } (the key carries the partition key, checked per record)`,
          );
          repartitions = false;
        } else if (node.partitioning === 'auto') {
          repartitions = inputPartitioning !== undefined && !keepsPartitioning(node.key, inputPartitioning);
        } else {
          repartitions = node.partitioning === 'repartition';
        }
        checkPartitions(node, node.partitions);
        if (!repartitions && node.partitions !== undefined) {
          problems.push(
            `${where(node)}: partitions (${node.partitions}) is the count of a repartition topic, but this grouping keeps the partitioning and does not repartition`,
          );
        }
        if (repartitions) {
          repartitionAt.set(id, { name: store, key: node.key, partitions: node.partitions });
          partitioning.set(id, { kind: 'key', key: node.key, topic: repartitionTopic(app.id, store) });
        } else if (inputPartitioning) {
          partitioning.set(id, inputPartitioning);
        }
        fieldsAt.set(id, undefined);
        continue;
      }
      case 'streamJoin': {
        problems.push(
          ...streamJoinProblems(node, where(node), {
            fields: node.inputs.map((each) => fieldsAt.get(each)),
            partitioning: node.inputs.map((each) => partitioning.get(each)),
          }),
        );
        for (const store of streamJoinStores(node))
          storeNodes.set(store, [...(storeNodes.get(store) ?? []), id]);
        if (inputPartitioning) partitioning.set(id, inputPartitioning);
        fieldsAt.set(id, undefined);
        continue;
      }
      case 'join': {
        if (node.on.kind === 'field' && inputFields && !inputFields.has(node.on.field)) {
          problems.push(`${where(node)}: the events have no field '${node.on.field}' to join on`);
        }
        const stream = streams.get(node.table);
        if (!stream) {
          problems.push(`table "${node.table}" is not in the configuration's streams (${known})`);
        } else {
          if (!stream.table) {
            problems.push(
              `${where(node)}: stream "${stream.name}" is not declared as a table; set streams.${stream.name}.table: true (its topic is then compacted: one row per key)`,
            );
          }
          const declared = tables.find((each) => each.name === stream.name);
          if (declared && declared.kind !== node.tableKind) {
            problems.push(
              `${where(node)}: table "${stream.name}" is joined as ${node.tableKind} and as ${declared.kind} elsewhere; declare it one way`,
            );
          } else if (declared && declared.historyMs !== node.historyMs) {
            problems.push(
              `${where(node)}: table "${stream.name}" is joined with two histories (${declared.historyMs} and ${node.historyMs} ms); declare it once and reuse it`,
            );
          }
          if (declared) declared.joins.push(id);
          else
            tables.push({
              name: stream.name,
              topic: stream.topic,
              kind: node.tableKind,
              historyMs: node.historyMs,
              stream,
              joins: [id],
            });
        }
        if (node.tableKind === 'partitioned') {
          // task p holds partition p of the table: the event's record key must be the row key
          const copartitioned =
            node.on.kind === 'field' &&
            inputPartitioning?.kind === 'field' &&
            inputPartitioning.field === node.on.field;
          if (!copartitioned) {
            problems.push(
              `${where(node)}: a partitioned table is joined on the partition key of the stream's input records ` +
                `(${inputPartitioning ? describePartitioning(inputPartitioning) : 'unknown here'}); ` +
                `join on that field, or use a global table (table<T>('${node.table}'))`,
            );
          }
        }
        // the joiner's output has fields sluice does not know; the partitioning stays
        if (inputPartitioning) partitioning.set(id, inputPartitioning);
        fieldsAt.set(id, undefined);
        continue;
      }
      default:
        if (inputPartitioning) partitioning.set(id, inputPartitioning);
        fieldsAt.set(id, keepsShape.has(node.kind) ? inputFields : undefined);
    }
  }

  for (const [store, ids] of storeNodes) {
    if (ids.length > 1) {
      problems.push(
        `nodes ${ids.join(', ')} all use the store name "${store}": give each aggregation its own with aggregate(..., { store: '<name>' })`,
      );
    }
  }
  const repartitionNames = [...repartitionAt.values()].map((each) => each.name);
  for (const name of new Set(repartitionNames)) {
    if (repartitionNames.filter((each) => each === name).length > 1) {
      problems.push(
        `two repartitions are named "${name}": name each repartition (or its aggregation's store) apart`,
      );
    }
  }
  for (const name of Object.keys(overrides.repartitionPartitions ?? {})) {
    if (!repartitionNames.includes(name)) {
      problems.push(
        `processor.repartitionPartitions names "${name}", which is not a repartition of the app (its repartitions: ${repartitionNames.join(', ') || 'none'})`,
      );
    }
  }
  if (!nodes.some((node) => node.kind === 'sink')) {
    problems.push('the app writes nowhere: end at least one chain with .to(stream(...))');
  }
  if (problems.length > 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `app ${app.id} cannot run:\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
  }
  for (const [id, repartition] of repartitionAt) {
    const override = overrides.repartitionPartitions?.[repartition.name];
    if (override !== undefined) repartitionAt.set(id, { ...repartition, partitions: override });
  }
  return cut(app, order, { sources, sinks, tables, partitioning, repartitionAt, groupings, streams });
}

/** Cuts the checked graph at the repartition points and numbers the parts in node order. */
function cut(
  app: App,
  order: NodeId[],
  facts: {
    sources: Stream[];
    sinks: Stream[];
    tables: TablePlan[];
    partitioning: Map<NodeId, PartitionedBy>;
    repartitionAt: Map<NodeId, { name: string; key: KeySpec; partitions?: number }>;
    groupings: Map<NodeId, GroupingPlan>;
    streams: ReadonlyMap<string, Stream>;
  },
): Topology {
  const nodes = app.graph.nodes;
  const children = childrenOf(nodes);
  // union-find over the edges that stay inside a sub-topology
  const parent = nodes.map((node) => node.id);
  const root = (id: NodeId): NodeId => {
    let top = id;
    while (parent[top] !== top) top = parent[top]!;
    return top;
  };
  for (const node of nodes) {
    if (facts.repartitionAt.has(node.id)) continue;
    for (const input of node.inputs) {
      const [a, b] = [root(input), root(node.id)];
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const numberOf = new Map<NodeId, number>();
  const subtopologyOf = new Map<NodeId, number>();
  for (const node of nodes) {
    const r = root(node.id);
    if (!numberOf.has(r)) numberOf.set(r, numberOf.size);
    subtopologyOf.set(node.id, numberOf.get(r)!);
  }
  const subtopologies: Subtopology[] = [...numberOf.values()].map((id) => ({
    id,
    inputs: [],
    nodes: order.filter((node) => subtopologyOf.get(node) === id),
    stores: [],
    sinks: [],
    writes: [],
  }));
  const repartitions: RepartitionPlan[] = [];
  const stores: StorePlan[] = [];
  for (const id of order) {
    const node = nodes[id]!;
    const part = subtopologies[subtopologyOf.get(id)!]!;
    if (node.kind === 'source') {
      const stream = facts.streams.get(node.stream)!;
      part.inputs.push({ kind: 'stream', stream: stream.name, topic: stream.topic, node: id });
    }
    if (node.kind === 'sink' && !part.sinks.includes(node.stream)) part.sinks.push(node.stream);
    const repartition = facts.repartitionAt.get(id);
    if (repartition) {
      const topic = repartitionTopic(app.id, repartition.name);
      const from = subtopologyOf.get(node.inputs[0]!)!;
      repartitions.push({
        name: repartition.name,
        topic,
        from,
        to: part.id,
        key: repartition.key,
        reader: id,
        ...(repartition.partitions === undefined ? {} : { partitions: repartition.partitions }),
      });
      part.inputs.push({ kind: 'repartition', name: repartition.name, topic, node: id });
      const writer = subtopologies[from]!;
      if (!writer.writes.includes(topic)) writer.writes.push(topic);
    }
    if (node.kind === 'streamJoin') {
      for (const name of streamJoinStores(node)) {
        part.stores.push(name);
        stores.push({
          name,
          changelogTopic: changelogTopic(app.id, name),
          subtopology: part.id,
          node: id,
          retentionMs: (node.withinMs ?? 0) + node.graceMs,
        });
      }
    }
    const grouping = facts.groupings.get(id);
    if (grouping) {
      part.stores.push(grouping.store);
      stores.push({
        name: grouping.store,
        changelogTopic: changelogTopic(app.id, grouping.store),
        subtopology: part.id,
        node: id,
        window: grouping.window,
      });
    }
  }
  return {
    appId: app.id,
    nodes,
    children,
    subtopologyOf,
    subtopologies,
    stores,
    repartitions,
    groupings: facts.groupings,
    partitioning: facts.partitioning,
    sources: facts.sources,
    sinks: facts.sinks,
    tables: facts.tables,
  };
}
