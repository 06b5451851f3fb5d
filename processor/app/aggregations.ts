/**
 * Aggregations: each keeps a small JSON-serialisable state per key and window, folds events
 * into it, merges two states (session windows merge), and turns the state into a result.
 */

export interface Aggregation<T, S, R> {
  init(): S;
  add(state: S, event: T): S;
  merge(left: S, right: S): S;
  result(state: S): R;
}

/** The aggregations available for events of type T, bound to T so types infer. */
export interface AggregationBuilders<T> {
  /** Number of events (that satisfy `where`, when given). */
  count(where?: (event: T) => boolean): Aggregation<T, number, number>;
  sum(of: (event: T) => number): Aggregation<T, number, number>;
  /** null when the window has no event (cannot happen for emitted windows). */
  min(of: (event: T) => number): Aggregation<T, number | null, number | null>;
  max(of: (event: T) => number): Aggregation<T, number | null, number | null>;
  avg(of: (event: T) => number): Aggregation<T, { sum: number; count: number }, number | null>;
  /** Exact distinct count: keeps the distinct values in state; fine for thousands per window. */
  distinctCount(of: (event: T) => string | number): Aggregation<T, (string | number)[], number>;
  /** Your own fold; `merge` is needed for session windows. */
  reduce<S, R = S>(reducer: {
    init: () => S;
    add: (state: S, event: T) => S;
    merge?: (left: S, right: S) => S;
    result?: (state: S) => R;
  }): Aggregation<T, S, R>;
}

const pickExtreme = (pick: (a: number, b: number) => number) => (a: number | null, b: number | null) =>
  a === null ? b : b === null ? a : pick(a, b);

export function aggregationBuilders<T>(): AggregationBuilders<T> {
  const minOf = pickExtreme(Math.min);
  const maxOf = pickExtreme(Math.max);
  return {
    count: (where) => ({
      init: () => 0,
      add: (state, event) => (where === undefined || where(event) ? state + 1 : state),
      merge: (left, right) => left + right,
      result: (state) => state,
    }),
    sum: (of) => ({
      init: () => 0,
      add: (state, event) => state + of(event),
      merge: (left, right) => left + right,
      result: (state) => state,
    }),
    min: (of) => ({
      init: () => null,
      add: (state, event) => minOf(state, of(event)),
      merge: minOf,
      result: (s) => s,
    }),
    max: (of) => ({
      init: () => null,
      add: (state, event) => maxOf(state, of(event)),
      merge: maxOf,
      result: (s) => s,
    }),
    avg: (of) => ({
      init: () => ({ sum: 0, count: 0 }),
      add: (state, event) => ({ sum: state.sum + of(event), count: state.count + 1 }),
      merge: (left, right) => ({ sum: left.sum + right.sum, count: left.count + right.count }),
      result: (state) => (state.count === 0 ? null : state.sum / state.count),
    }),
    distinctCount: (of) => ({
      init: () => [],
      add: (state, event) => {
        const value = of(event);
        return state.includes(value) ? state : [...state, value];
      },
      merge: (left, right) => [...new Set([...left, ...right])],
      result: (state) => state.length,
    }),
    reduce: (reducer) => ({
      init: reducer.init,
      add: reducer.add,
      merge:
        reducer.merge ??
        (() => {
          throw new Error('this reduce() has no merge function, which session windows need');
        }),
      result: reducer.result ?? ((state) => state as never),
    }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the state and result types vary per aggregation
export type Aggregations<T> = Record<string, Aggregation<T, any, any>>;

/** The result record of a set of aggregations: one field per aggregation. */
export type Results<A> = {
  [Name in keyof A]: A[Name] extends Aggregation<never, unknown, infer R> ? R : never;
};

/** Runs a named set of aggregations as one: states and results are records keyed by name. */
export function combine<T>(
  aggregations: Aggregations<T>,
): Aggregation<T, Record<string, unknown>, Record<string, unknown>> {
  const entries = Object.entries(aggregations);
  return {
    init: () => Object.fromEntries(entries.map(([name, aggregation]) => [name, aggregation.init()])),
    add: (state, event) => {
      const next: Record<string, unknown> = {};
      for (const [name, aggregation] of entries) next[name] = aggregation.add(state[name], event);
      return next;
    },
    merge: (left, right) => {
      const next: Record<string, unknown> = {};
      for (const [name, aggregation] of entries) next[name] = aggregation.merge(left[name], right[name]);
      return next;
    },
    result: (state) => {
      const next: Record<string, unknown> = {};
      for (const [name, aggregation] of entries) next[name] = aggregation.result(state[name]);
      return next;
    },
  };
}
