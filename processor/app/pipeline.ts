/**
 * The DSL apps are written with. It only records a graph (graph.ts); compilation checks and cuts
 * it (topology.ts) and tasks run it. Types carry the event shape through each step, so a wrong
 * field name in groupBy, a wrong aggregation input or a sink of another shape is a compile error.
 *
 *   const [alerts, rest] = ...;  source.filter(...).map(...).groupBy('tenant', 'api')
 *     .window(tumbling(...)).aggregate((agg) => ({ n: agg.count() })).map(...).to(stream<Out>('Out'))
 */
import type { WindowSpec } from '../windows/windows.ts';
import {
  type Aggregation,
  type AggregationBuilders,
  type Aggregations,
  aggregationBuilders,
  combine,
  type Results,
} from './aggregations.ts';
import type {
  AggregateNode,
  EmitMode,
  Graph,
  JoinNode,
  KeySpec,
  NodeBody,
  NodeId,
  StreamJoinNode,
  TableKind,
} from './graph.ts';

export type { EmitMode } from './graph.ts';

/** A stream declared in the configuration's `streams` section, typed by its events. */
export interface StreamRef<T> {
  readonly stream: string;
  /** Type marker only; never set. */
  readonly __events?: T;
}

export function stream<T>(name: string): StreamRef<T> {
  return { stream: name };
}

/**
 * A table declared in the configuration's `streams` (a compacted topic: the latest record per key
 * is the row, a null value deletes it). The Kafka record key is the row's key.
 */
export interface TableRef<T> {
  readonly table: string;
  readonly kind: TableKind;
  /** How long a partitioned table keeps superseded versions (ms). */
  readonly historyMs: number;
  /** Type marker only; never set. */
  readonly __rows?: T;
}

/** How long a partitioned table keeps a row's older versions when no `history` is given: a day. */
export const defaultTableHistoryMs = 24 * 3_600_000;

/**
 * A table to join with. `global` (the default): every task holds all of it, so any event can look
 * up any row whatever its partitioning; for small reference data (plans, owners, quotas).
 * `partitioned`: co-partitioned with the stream, each task holds its partition with the rows'
 * versions, and an event joins the row as of its event time. A version is kept until a newer
 * version of the row is older than `history` (ms) behind the row's newest update.
 */
export function table<T>(name: string, options: { kind?: TableKind; history?: number } = {}): TableRef<T> {
  const historyMs = options.history ?? defaultTableHistoryMs;
  if (!Number.isSafeInteger(historyMs) || historyMs < 0)
    throw new Error(`table ${name}: history must be a non-negative number of milliseconds`);
  return { table: name, kind: options.kind ?? 'global', historyMs };
}

/** Fields of T with string values: what a join's key can be. */
export type StringField<T> = { [F in keyof T & string]: T[F] extends string ? F : never }[keyof T & string];

/** Which table row an event joins, computed (null or undefined: no row); or name a string field. */
export type JoinKeyFunction<T> = (event: T) => string | null | undefined;

/**
 * Which field holds the join key on each side of a stream–stream join: one field both have, or
 * one per side. Each side must be partitioned by it (its partition key, or a repartition by it).
 */
export type StreamJoinOn<T, R> =
  | (StringField<T> & StringField<R>)
  | { left: StringField<T>; right: StringField<R> };

/**
 * A stream–stream join's window (Kafka Streams' JoinWindows.ofTimeDifferenceAndGrace): records
 * join when their times are at most `within` ms apart; `grace` (default 0) admits records that
 * much behind stream time; `name` names its stores `<name>-this` / `<name>-other` (default `join-<node>`).
 */
export interface StreamJoinOptions<On, J> {
  on: On;
  within: number;
  grace?: number;
  name?: string;
  joiner: J;
}

/** What the join overloads' implementations take: a table or a stream, and either options. */
// biome-ignore lint/suspicious/noExplicitAny: an overload implementation accepts every overload's types
type JoinTarget = TableRef<any> | EventStream<any>;
type AnyJoinOptions = {
  on: unknown;
  joiner: unknown;
  within?: number;
  grace?: number;
  name?: string;
};

/** What a windowed aggregation emits. */
export interface WindowedResult<K, V> {
  key: K;
  window: { start: number; end: number };
  value: V;
}

/** What a running (unwindowed) aggregation emits. */
export interface KeyedResult<K, V> {
  key: K;
  value: V;
}

type KeyValue = string | number | boolean | bigint;

/** Fields of T that can be part of a key (a group key or a repartition key): scalar values only. */
export type KeyField<T> = { [F in keyof T & string]: T[F] extends KeyValue ? F : never }[keyof T & string];

/** Your own aggregation: a JSON-serialisable state folded per key (and window). */
export interface Aggregator<T, S, R = S> {
  init: () => S;
  add: (state: S, event: T) => S;
  /** Needed for session windows (two sessions joined by a record). */
  merge?: (left: S, right: S) => S;
  result?: (state: S) => R;
}

/** What the end of a chain returns: the sink was recorded. */
export interface SinkHandle {
  readonly sink: string;
}

/** The second argument of `pipeline`: further inputs of the same app. */
export interface Sources {
  /** Another configured stream, e.g. to `merge` with the app's source (same partitioning). */
  from<T>(ref: StreamRef<T>): EventStream<T>;
}

export interface GroupByOptions {
  /**
   * Whether records of one key can sit in different partitions. `true`: they go through the
   * repartition topic `<app>-<store>-repartition`. `false`: your promise that the key is derived
   * from the partition key (sluice checks per record only that the event's partition-key field
   * still equals its record key; a mismatch is dead-lettered).
   */
  repartition: boolean;
}

const unsupportedMerge = () => {
  throw new Error('this aggregator has no merge function, which session windows need');
};

/** A custom aggregator as the engine's Aggregation (identity result by default). */
function fromAggregator<T, S, R>(aggregator: Aggregator<T, S, R>): Aggregation<T, S, R> {
  return {
    init: aggregator.init,
    add: aggregator.add,
    merge: aggregator.merge ?? unsupportedMerge,
    result: aggregator.result ?? ((state) => state as unknown as R),
  };
}

/** Kafka Streams' reduce: the first event is the state, later ones are combined into it. */
function fromReducer<T>(reducer: (accumulated: T, event: T) => T): Aggregation<T, T | null, T | null> {
  return {
    init: () => null,
    add: (state, event) => (state === null ? event : reducer(state, event)),
    merge: (left, right) => (left === null ? right : right === null ? left : reducer(left, right)),
    result: (state) => state,
  };
}

export class EventStream<T> {
  protected readonly graph: Graph;
  /** The node whose output this stream is. */
  readonly node: NodeId;

  constructor(graph: Graph, node: NodeId) {
    this.graph = graph;
    this.node = node;
  }

  private append<U>(body: NodeBody): EventStream<U> {
    return new EventStream<U>(this.graph, this.graph.add(body, [this.node]));
  }

  filter(predicate: (event: T) => boolean): EventStream<T> {
    return this.append({ kind: 'filter', fn: predicate as (event: unknown) => boolean });
  }

  map<U extends object>(transform: (event: T) => U): EventStream<U> {
    return this.append({ kind: 'map', fn: transform as (event: unknown) => unknown });
  }

  /** Zero or more events per event. */
  flatMap<U extends object>(transform: (event: T) => Iterable<U>): EventStream<U> {
    return this.append({ kind: 'flatMap', fn: transform as (event: unknown) => Iterable<unknown> });
  }

  /** Looks at each event (logging, metrics) and passes it on unchanged. */
  peek(action: (event: T) => void): EventStream<T> {
    return this.append({ kind: 'peek', fn: action as (event: unknown) => void });
  }

  /**
   * Splits the stream: each event goes to the first arm whose predicate holds, in the order
   * written; an event no arm takes is dropped (end with `rest: () => true` to keep it).
   */
  branch<N extends string>(arms: Record<N, (event: T) => boolean>): Record<N, EventStream<T>> {
    const entries = Object.entries(arms) as [N, (event: T) => boolean][];
    const branch = this.graph.add(
      {
        kind: 'branch',
        arms: entries.map(([name, predicate]) => ({
          name,
          predicate: predicate as (event: unknown) => boolean,
        })),
      },
      [this.node],
    );
    return Object.fromEntries(
      entries.map(([name], index) => [
        name,
        new EventStream<T>(this.graph, this.graph.add({ kind: 'arm', index, name }, [branch])),
      ]),
    ) as Record<N, EventStream<T>>;
  }

  /** One stream of both streams' events (same shape; both partitioned alike, checked at start). */
  merge(...others: EventStream<T>[]): EventStream<T> {
    for (const other of others) {
      if (other.graph !== this.graph) throw new Error('merge: both streams must belong to the same app');
    }
    return new EventStream<T>(
      this.graph,
      this.graph.add({ kind: 'merge' }, [this.node, ...others.map((other) => other.node)]),
    );
  }

  /**
   * Moves every event to the partition of its `by` fields, through the topic
   * `<app>-<name>-repartition` (one more write and read of every event).
   */
  repartition<K extends KeyField<T>>(options: {
    name: string;
    by: [K, ...K[]];
    /** The topic's partition count (the processor's `repartitionPartitions` overrides it). @default the input's */
    partitions?: number;
  }): EventStream<T> {
    return this.append({
      kind: 'repartition',
      name: options.name,
      key: { kind: 'fields', fields: options.by },
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    });
  }

  /**
   * Groups by fields of the event. When the fields contain the current partition key each group
   * already lives in one partition; otherwise sluice repartitions (decided at start).
   */
  groupBy<K extends KeyField<T>>(...fields: [K, ...K[]]): GroupedStream<T, Pick<T, K>>;
  /** Groups by a computed key; say whether it keeps the partitioning (sluice cannot tell). */
  groupBy<K extends Record<string, KeyValue>>(
    key: (event: T) => K,
    options: GroupByOptions,
  ): GroupedStream<T, K>;
  groupBy(...args: unknown[]): GroupedStream<T, unknown> {
    if (typeof args[0] === 'function') {
      const options = args[1] as GroupByOptions | undefined;
      return new GroupedStream(
        this.graph,
        this.node,
        { kind: 'function', fn: args[0] as (event: unknown) => Record<string, unknown> },
        options === undefined ? undefined : options.repartition ? 'repartition' : 'keep',
      );
    }
    return new GroupedStream(this.graph, this.node, { kind: 'fields', fields: args as string[] }, 'auto');
  }

  /**
   * Joins each event with the table row under its key (the latest row for a global table) and
   * passes on `joiner(event, row)`; an event without a row is dropped.
   */
  join<R, U extends object, F extends StringField<T>>(
    table: TableRef<R>,
    options: { on: F | JoinKeyFunction<T>; joiner: (event: T, row: R) => U },
  ): EventStream<U>;
  /**
   * Joins with another stream within a time window: each pair of records with the same key at
   * most `within` ms apart gives `joiner(left, right)`, with the later of their times.
   */
  join<R, U extends object, On extends StreamJoinOn<T, R>>(
    other: EventStream<R>,
    options: StreamJoinOptions<On, (left: T, right: R) => U>,
  ): EventStream<U>;
  join(other: JoinTarget, options: AnyJoinOptions): EventStream<unknown> {
    if (other instanceof EventStream) return this.appendStreamJoin('inner', other, options);
    return this.appendJoin('inner', other, options.on as string, options.joiner as JoinNode['joiner']);
  }

  /** As `join`, but an event without a row is passed on too, with `row` null. */
  leftJoin<R, U extends object, F extends StringField<T>>(
    table: TableRef<R>,
    options: { on: F | JoinKeyFunction<T>; joiner: (event: T, row: R | null) => U },
  ): EventStream<U>;
  /**
   * As the stream `join`, and a left record that matched nothing is passed on with `right` null
   * once its window closed (after grace, on stream time).
   */
  leftJoin<R, U extends object, On extends StreamJoinOn<T, R>>(
    other: EventStream<R>,
    options: StreamJoinOptions<On, (left: T, right: R | null) => U>,
  ): EventStream<U>;
  leftJoin(other: JoinTarget, options: AnyJoinOptions): EventStream<unknown> {
    if (other instanceof EventStream) return this.appendStreamJoin('left', other, options);
    return this.appendJoin('left', other, options.on as string, options.joiner as JoinNode['joiner']);
  }

  /** As the stream `join`, and a record of either side that matched nothing is passed on with a null partner once its window closed. */
  outerJoin<R, U extends object, On extends StreamJoinOn<T, R>>(
    other: EventStream<R>,
    options: StreamJoinOptions<On, (left: T | null, right: R | null) => U>,
  ): EventStream<U> {
    return this.appendStreamJoin('outer', other, options as AnyJoinOptions);
  }

  private appendStreamJoin<U>(
    type: StreamJoinNode['type'],
    // biome-ignore lint/suspicious/noExplicitAny: any stream of the same app
    other: EventStream<any>,
    options: AnyJoinOptions,
  ): EventStream<U> {
    if (other.graph !== this.graph) throw new Error('join: both streams must belong to the same app');
    const on = options.on as string | { left: string; right: string };
    const body: StreamJoinNode = {
      kind: 'streamJoin',
      type,
      on: typeof on === 'object' ? on : { left: String(on), right: String(on) },
      // a missing within is refused at compile time with the others problems of the app
      withinMs: options.within,
      graceMs: options.grace ?? 0,
      name: options.name,
      joiner: options.joiner as StreamJoinNode['joiner'],
    };
    return new EventStream<U>(this.graph, this.graph.add(body, [this.node, other.node]));
  }

  private appendJoin<U>(
    type: JoinNode['type'],
    table: { table: string; kind: TableKind; historyMs: number },
    on: string | JoinKeyFunction<T>,
    joiner: JoinNode['joiner'],
  ): EventStream<U> {
    return this.append<U>({
      kind: 'join',
      type,
      table: table.table,
      tableKind: table.kind,
      historyMs: table.historyMs,
      on:
        typeof on === 'function'
          ? { kind: 'function', fn: on as (event: unknown) => unknown }
          : { kind: 'field', field: on },
      joiner,
    });
  }

  /** Ends this chain: events are Avro-encoded with the sink stream's schema and keyed by its partition key. */
  to(sink: StreamRef<T>): SinkHandle {
    this.graph.add({ kind: 'sink', stream: sink.stream }, [this.node]);
    return { sink: sink.stream };
  }
}

/** What aggregations emit: a stream like any other (Kafka Streams' `table.toStream()`). */
export type ResultStream<T> = EventStream<T>;

type AggregateOptions = {
  store?: string;
  /**
   * When the grouping repartitions: the repartition topic's partition count (the processor's
   * `repartitionPartitions` overrides it); refused on a grouping that does not repartition.
   * @default the input's partition count
   */
  partitions?: number;
};

export class GroupedStream<T, K> {
  protected readonly graph: Graph;
  protected readonly input: NodeId;
  protected readonly key: KeySpec;
  protected readonly partitioning: AggregateNode['partitioning'];

  constructor(graph: Graph, input: NodeId, key: KeySpec, partitioning: AggregateNode['partitioning']) {
    this.graph = graph;
    this.input = input;
    this.key = key;
    this.partitioning = partitioning;
  }

  window(spec: WindowSpec): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.graph, this.input, this.key, this.partitioning, spec);
  }

  protected record<R>(
    aggregation: Aggregation<T, unknown, unknown>,
    options: AggregateOptions & { emit?: EmitMode },
    window?: WindowSpec,
  ): EventStream<R> {
    const node: AggregateNode = {
      kind: 'aggregate',
      key: this.key,
      partitioning: this.partitioning,
      window,
      aggregation: aggregation as AggregateNode['aggregation'],
      emit: options.emit ?? (window ? 'onWindowClose' : 'onUpdate'),
      store: options.store,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    };
    return new EventStream<R>(this.graph, this.graph.add(node, [this.input]));
  }

  /** A running aggregate per key (no window), emitted on every update. */
  aggregate<A extends Aggregations<T>>(
    build: (agg: AggregationBuilders<T>) => A,
    options?: AggregateOptions,
  ): ResultStream<KeyedResult<K, Results<A>>>;
  /** Your own aggregator: `value` is its result. */
  aggregate<S, R = S>(
    aggregator: Aggregator<T, S, R>,
    options?: AggregateOptions,
  ): ResultStream<KeyedResult<K, R>>;
  aggregate(
    spec: ((agg: AggregationBuilders<T>) => Aggregations<T>) | Aggregator<T, unknown, unknown>,
    options: AggregateOptions = {},
  ): ResultStream<unknown> {
    return this.record(aggregationOf(spec), options);
  }

  /** Combines the key's events pairwise: `value` is the running combination. */
  reduce(
    reducer: (accumulated: T, event: T) => T,
    options: AggregateOptions = {},
  ): ResultStream<KeyedResult<K, T>> {
    return this.record(fromReducer(reducer) as Aggregation<T, unknown, unknown>, options);
  }
}

function aggregationOf<T>(
  spec: ((agg: AggregationBuilders<T>) => Aggregations<T>) | Aggregator<T, unknown, unknown>,
): Aggregation<T, unknown, unknown> {
  return typeof spec === 'function'
    ? (combine(spec(aggregationBuilders<T>())) as Aggregation<T, unknown, unknown>)
    : fromAggregator(spec);
}

type WindowedOptions = AggregateOptions & { emit?: EmitMode };

export class WindowedStream<T, K> extends GroupedStream<T, K> {
  private readonly spec: WindowSpec;

  constructor(
    graph: Graph,
    input: NodeId,
    key: KeySpec,
    partitioning: AggregateNode['partitioning'],
    spec: WindowSpec,
  ) {
    super(graph, input, key, partitioning);
    this.spec = spec;
  }

  /** Aggregates per key and window; emits when the window closes (default) or on every update. */
  override aggregate<A extends Aggregations<T>>(
    build: (agg: AggregationBuilders<T>) => A,
    options?: WindowedOptions,
  ): ResultStream<WindowedResult<K, Results<A>>>;
  override aggregate<S, R = S>(
    aggregator: Aggregator<T, S, R>,
    options?: WindowedOptions,
  ): ResultStream<WindowedResult<K, R>>;
  override aggregate(
    spec: ((agg: AggregationBuilders<T>) => Aggregations<T>) | Aggregator<T, unknown, unknown>,
    options: WindowedOptions = {},
  ): ResultStream<unknown> {
    return this.record(aggregationOf(spec), options, this.spec);
  }

  override reduce(
    reducer: (accumulated: T, event: T) => T,
    options: WindowedOptions = {},
  ): ResultStream<WindowedResult<K, T>> {
    return this.record(fromReducer(reducer) as Aggregation<T, unknown, unknown>, options, this.spec);
  }

  override window(): never {
    throw new Error('window() was already given');
  }
}

/** A new graph with the app's source as its first node. */
export function recordGraph<In>(
  graph: Graph,
  source: StreamRef<In>,
): { events: EventStream<In>; sources: Sources } {
  const events = new EventStream<In>(graph, graph.add({ kind: 'source', stream: source.stream }, []));
  return {
    events,
    sources: {
      from: <T>(ref: StreamRef<T>) =>
        new EventStream<T>(graph, graph.add({ kind: 'source', stream: ref.stream }, [])),
    },
  };
}
