/**
 * Runs one sub-topology's operators over a batch, in the graph's order: each operator gets every
 * item its inputs produced for the batch at once, and a stateful one has its keys loaded into the
 * write cache in one read first (operators/operator.ts has the contract). The task owns decoding,
 * stream time, commits and dead letters; this file owns only the walk through the graph.
 */
import type { Stream } from '../../schemas/streams.ts';
import { type NodeId, streamJoinStores } from '../app/graph.ts';
import type { Topology } from '../app/topology.ts';
import type { StoredAggregate } from '../operators/aggregate-operator.ts';
import { createGroupedAggregate } from '../operators/grouped-aggregate.ts';
import type { Item, Operator, OperatorContext } from '../operators/operator.ts';
import { createRepartitionWriter } from '../operators/repartition-writer.ts';
import { createSinkOperator, createStatelessOperator } from '../operators/stateless-operators.ts';
import { type BufferedRecords, createStreamJoin, type JoinSideState } from '../operators/stream-join.ts';
import { createTableJoin } from '../operators/table-join.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { WriteCache } from '../state/write-cache.ts';
import type { GlobalTables } from '../tables/global-tables.ts';
import type { PartitionedTable } from '../tables/partitioned-table.ts';

export interface SubtopologyRunnerOptions {
  topology: Topology;
  subtopology: number;
  /** The task's stores with their write caches, by store name (one per aggregation). */
  stores: ReadonlyMap<string, { store: KeyValueStore; cache: WriteCache<StoredAggregate> }>;
  /** The Avro encoder of each sink stream, by stream name. */
  encoders: ReadonlyMap<string, (value: unknown) => Buffer>;
  /** The global tables joins read (loaded before the task runs). */
  tables?: Pick<GlobalTables, 'table'>;
  /** The task's partitioned tables by name (restored before the task runs). */
  partitionedTables?: ReadonlyMap<string, PartitionedTable>;
  context: OperatorContext;
}

export interface SubtopologyRunner {
  /** After the store is restored. */
  open(): Promise<void>;
  /**
   * Runs a non-empty batch of decoded items of one input topic; outputs and dead letters go to
   * the context. Operators that read other inputs get nothing this time but still see stream time.
   */
  run(topic: string, inputs: Item[], streamTime: number): Promise<void>;
}

function createOperator(
  options: SubtopologyRunnerOptions,
  id: NodeId,
): { operator: Operator; cache?: WriteCache<StoredAggregate> } | undefined {
  const { topology, context } = options;
  const node = topology.nodes[id]!;
  switch (node.kind) {
    case 'source':
      return undefined;
    case 'sink': {
      const stream = topology.sinks.find((each) => each.name === node.stream) as Stream;
      const encode = options.encoders.get(node.stream);
      if (!encode) throw new Error(`no encoder for sink stream ${node.stream}`);
      return { operator: createSinkOperator(stream, encode, context) };
    }
    case 'aggregate': {
      const grouping = topology.groupings.get(id)!;
      const state = options.stores.get(grouping.store);
      if (!state)
        throw new Error(`node ${id} aggregates into store ${grouping.store}, which the task does not have`);
      const readsRepartition = topology.repartitions.some((each) => each.reader === id);
      const operator = createGroupedAggregate({
        grouping,
        // records read from a repartition topic are in their key's partition by construction
        keeps: readsRepartition ? undefined : topology.partitioning.get(node.inputs[0]!),
        cache: state.cache,
        store: state.store,
        context,
      });
      return { operator, cache: state.cache };
    }
    case 'join': {
      const partitioned = options.partitionedTables?.get(node.table);
      if (node.tableKind === 'partitioned') {
        if (!partitioned)
          throw new Error(`node ${id} joins with table ${node.table}, which the task does not hold`);
        return { operator: createTableJoin(node, { kind: 'partitioned', table: partitioned }, context) };
      }
      if (!options.tables)
        throw new Error(`node ${id} joins with table ${node.table} but the task has no tables`);
      return {
        operator: createTableJoin(node, { kind: 'global', rows: options.tables.table(node.table) }, context),
      };
    }
    case 'streamJoin': {
      const sides = streamJoinStores(node).map((name): JoinSideState => {
        const state = options.stores.get(name);
        if (!state) throw new Error(`node ${id} joins through store ${name}, which the task does not have`);
        // the task's write caches hold JSON values; a join side's are its buffered records
        return { store: state.store, cache: state.cache as unknown as WriteCache<BufferedRecords> };
      });
      const withinMs = node.withinMs;
      if (withinMs === undefined)
        throw new Error(`node ${id}: a stream join needs within (refused at compile time)`);
      return {
        operator: createStreamJoin({ ...node, withinMs }, [sides[0]!, sides[1]!], context),
      };
    }
    case 'repartition':
      // the downstream end: the records arrive already moved
      return { operator: { process: (items) => [...items] } };
    default:
      return { operator: createStatelessOperator(node, context) };
  }
}

export function createSubtopologyRunner(options: SubtopologyRunnerOptions): SubtopologyRunner {
  const { topology } = options;
  const part = topology.subtopologies[options.subtopology]!;
  const operators = new Map<NodeId, { operator: Operator; cache?: WriteCache<StoredAggregate> }>();
  for (const id of part.nodes) {
    const created = createOperator(options, id);
    if (created) operators.set(id, created);
  }
  // the upstream ends of the repartitions this sub-topology feeds, with the nodes they read
  const writers = topology.repartitions
    .filter((each) => each.from === part.id)
    .map((plan) => ({
      inputs: topology.nodes[plan.reader]!.inputs,
      operator: createRepartitionWriter(plan, options.context),
    }));
  /** The repartition readers among the nodes: their items are the task's input items of that topic. */
  const repartitionReaders = new Map(
    part.inputs.filter((input) => input.kind === 'repartition').map((input) => [input.node, input.topic]),
  );
  /** Items of the node at `id`'s inputs; a repartition reader's are the batch's items of its topic. */
  const inputsOf = (id: NodeId, produced: Map<NodeId, Item[]>, topic: string, inputs: Item[]) => {
    const reads = repartitionReaders.get(id);
    if (reads !== undefined) return reads === topic ? inputs : [];
    const node = topology.nodes[id]!;
    // a join tells its inputs apart (a self-join reads one node twice: each item once per side)
    if (node.kind === 'streamJoin')
      return node.inputs.flatMap((each, side) =>
        (produced.get(each) ?? []).map((item) => ({ ...item, side })),
      );
    return node.inputs.flatMap((each) => produced.get(each) ?? []);
  };

  return {
    async open() {
      for (const { operator } of operators.values()) await operator.open?.();
    },

    async run(topic, inputs, streamTime) {
      const batchEnd = inputs[inputs.length - 1]!;
      // every source node of this topic gets the batch (one stream may be read by two source nodes)
      const produced = new Map<NodeId, Item[]>(
        part.inputs
          .filter((input) => input.kind === 'stream' && input.topic === topic)
          .map((input) => [input.node, inputs]),
      );
      for (const id of part.nodes) {
        const created = operators.get(id);
        if (!created) continue;
        const { operator, cache } = created;
        const items = inputsOf(id, produced, topic, inputs);
        if (operator.keysFor && cache && items.length > 0) await cache.load(operator.keysFor(items));
        if (operator.load && items.length > 0) await operator.load(items);
        const out = items.length > 0 ? operator.process(items) : [];
        if (operator.onStreamTime) {
          if (operator.dueKeys && cache) await cache.load(operator.dueKeys(streamTime));
          if (operator.loadDue) await operator.loadDue(streamTime);
          // one by one: a stream-time step can close more windows than a call takes arguments
          for (const emitted of operator.onStreamTime(streamTime, batchEnd)) out.push(emitted);
        }
        produced.set(id, out);
      }
      for (const writer of writers) {
        const items = writer.inputs.flatMap((each) => produced.get(each) ?? []);
        if (items.length > 0) writer.operator.process(items);
      }
    },
  };
}
