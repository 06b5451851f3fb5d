/**
 * The pipeline builder apps are written with. It only records what to do (a Plan); the task
 * runs it. Types carry the event shape through each step, so a wrong field name in groupBy, a
 * wrong aggregation input or a sink of another shape is a compile error.
 *
 *   source.filter(...).map(...).groupBy('tenant', 'api').window(tumbling(...))
 *         .aggregate((agg) => ({ n: agg.count() })).map(...).to(stream<Out>('Out'))
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

/** A stream declared in the configuration's `streams` section, typed by its events. */
export interface StreamRef<T> {
  readonly stream: string;
  /** Type marker only; never set. */
  readonly __events?: T;
}

export function stream<T>(name: string): StreamRef<T> {
  return { stream: name };
}

export type Step =
  | { kind: 'filter'; fn: (event: unknown) => boolean }
  | { kind: 'map'; fn: (event: unknown) => unknown };

export type EmitMode = 'onWindowClose' | 'onUpdate';

export interface GroupingPlan {
  /** Fields of the (mapped) event that form the group key, in order. */
  fields: string[];
  /** Absent: a running aggregate per key, emitted on every update. */
  window?: WindowSpec;
  aggregation: Aggregation<unknown, Record<string, unknown>, Record<string, unknown>>;
  emit: EmitMode;
  /** Names the RocksDB store and its changelog topic `<app>-<store>-changelog`. */
  store: string;
}

export interface Plan {
  pre: Step[];
  grouping?: GroupingPlan;
  post: Step[];
  sink: string;
}

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

interface Draft {
  pre: Step[];
  grouping?: GroupingPlan;
  post: Step[];
}

abstract class StepStream<T> {
  protected readonly draft: Draft;
  protected readonly phase: 'pre' | 'post';

  constructor(draft: Draft, phase: 'pre' | 'post') {
    this.draft = draft;
    this.phase = phase;
  }

  protected withStep(step: Step): Draft {
    return this.phase === 'pre'
      ? { ...this.draft, pre: [...this.draft.pre, step] }
      : { ...this.draft, post: [...this.draft.post, step] };
  }

  /** Ends the pipeline: events are Avro-encoded with the sink stream's schema and keyed by its partition key. */
  to(sink: StreamRef<T>): Plan {
    return Object.freeze({ ...this.draft, sink: sink.stream });
  }
}

export class EventStream<T> extends StepStream<T> {
  filter(predicate: (event: T) => boolean): EventStream<T> {
    return new EventStream(this.withStep({ kind: 'filter', fn: predicate as Step['fn'] } as Step), 'pre');
  }

  map<U extends object>(transform: (event: T) => U): EventStream<U> {
    return new EventStream<U>(
      this.withStep({ kind: 'map', fn: transform as (event: unknown) => unknown }),
      'pre',
    );
  }

  /**
   * Groups by fields of the event. The fields must include the source's partition key, so each
   * group lives in one partition and its state stays local (checked at start).
   */
  groupBy<K extends keyof T & string>(...fields: [K, ...K[]]): GroupedStream<T, Pick<T, K>> {
    return new GroupedStream<T, Pick<T, K>>(this.draft, fields);
  }
}

/** After an aggregation: only stateless steps and the sink remain (no repartitioning). */
export class ResultStream<T> extends StepStream<T> {
  filter(predicate: (event: T) => boolean): ResultStream<T> {
    return new ResultStream(this.withStep({ kind: 'filter', fn: predicate as Step['fn'] } as Step), 'post');
  }

  map<U extends object>(transform: (event: T) => U): ResultStream<U> {
    return new ResultStream<U>(
      this.withStep({ kind: 'map', fn: transform as (event: unknown) => unknown }),
      'post',
    );
  }
}

export class GroupedStream<T, K> {
  private readonly draft: Draft;
  private readonly fields: string[];

  constructor(draft: Draft, fields: string[]) {
    this.draft = draft;
    this.fields = fields;
  }

  window(spec: WindowSpec): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.draft, this.fields, spec);
  }

  /** A running aggregate per key (no window), emitted on every update. */
  aggregate<A extends Aggregations<T>>(
    build: (agg: AggregationBuilders<T>) => A,
    options: { store?: string } = {},
  ): ResultStream<KeyedResult<K, Results<A>>> {
    return new ResultStream(
      {
        ...this.draft,
        grouping: {
          fields: this.fields,
          aggregation: combine(build(aggregationBuilders<T>())) as GroupingPlan['aggregation'],
          emit: 'onUpdate',
          store: options.store ?? 'aggregates',
        },
      },
      'post',
    );
  }
}

export class WindowedStream<T, K> {
  private readonly draft: Draft;
  private readonly fields: string[];
  private readonly spec: WindowSpec;

  constructor(draft: Draft, fields: string[], spec: WindowSpec) {
    this.draft = draft;
    this.fields = fields;
    this.spec = spec;
  }

  /** Aggregates per key and window; emits when the window closes (default) or on every update. */
  aggregate<A extends Aggregations<T>>(
    build: (agg: AggregationBuilders<T>) => A,
    options: { store?: string; emit?: EmitMode } = {},
  ): ResultStream<WindowedResult<K, Results<A>>> {
    return new ResultStream(
      {
        ...this.draft,
        grouping: {
          fields: this.fields,
          window: this.spec,
          aggregation: combine(build(aggregationBuilders<T>())) as GroupingPlan['aggregation'],
          emit: options.emit ?? 'onWindowClose',
          store: options.store ?? 'aggregates',
        },
      },
      'post',
    );
  }
}

export function sourceStream<T>(): EventStream<T> {
  return new EventStream<T>({ pre: [], post: [] }, 'pre');
}
