/**
 * Turns an app into what the processor runs: its graph compiled against the configured streams
 * (topology.ts), one plan per sub-topology. A task reads partition p of every input of its
 * sub-topology (streams and repartition topics, co-partitioned: checked at start in
 * topic-setup.ts).
 */
import type { Stream } from '../../schemas/streams.ts';
import { UserCodeError } from '../operators/operator.ts';
import type { App } from './define.ts';
import {
  compileTopology,
  type GroupingPlan,
  type StorePlan,
  type SubtopologyInput,
  type Topology,
  type TopologyOverrides,
} from './topology.ts';

export { UserCodeError };

/** One input of a sub-topology, with its stream's definition when it is one. */
export type PlanInput = SubtopologyInput & {
  /** The source stream when the input is one (Avro, event time from a field); absent for a repartition topic. */
  source?: Stream;
};

/** What the tasks of one sub-topology run: task `<id>_<p>` reads partition p of each of `inputs`. */
export interface SubtopologyPlan {
  id: number;
  /** Every input topic of the sub-topology, in graph order; all are read and committed together. */
  inputs: PlanInput[];
  /** The first input: it names the task's transactional id (unchanged since tasks had one input). */
  input: PlanInput;
  /** The task's stores, one per aggregation (none when stateless). */
  stores: StorePlan[];
}

export interface CompiledApp {
  app: App;
  topology: Topology;
  /** The app's input stream (the first source). */
  source: Stream;
  /** Every stream the app writes to. */
  sinks: Stream[];
  stores: StorePlan[];
  subtopologies: SubtopologyPlan[];
  /** The first store and its aggregation: the one state queries answer for. */
  store?: StorePlan;
  grouping?: GroupingPlan;
}

/** The event's time from the stream's event-time field; throws when missing or invalid. */
export function eventTimeOf(stream: Stream, event: unknown): number {
  const field = stream.eventTime!;
  const time = (event as Record<string, unknown>)[field];
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
    throw new UserCodeError(`event time field ${field} is not a non-negative integer: ${String(time)}`);
  }
  return time;
}

export function compileApp(
  app: App,
  streams: ReadonlyMap<string, Stream>,
  overrides: TopologyOverrides = {},
): CompiledApp {
  const topology = compileTopology(app, streams, overrides);
  const subtopologies = topology.subtopologies.map((part): SubtopologyPlan => {
    const inputs = part.inputs.map(
      (input): PlanInput =>
        input.kind === 'stream' ? { ...input, source: streams.get(input.stream) } : input,
    );
    return {
      id: part.id,
      inputs,
      input: inputs[0]!,
      stores: topology.stores.filter((each) => each.subtopology === part.id),
    };
  });
  // state queries answer for aggregations (a join's stores hold buffered records)
  const first = topology.stores.find((each) => topology.groupings.has(each.node));
  return {
    app,
    topology,
    source: topology.sources[0]!,
    sinks: topology.sinks,
    stores: topology.stores,
    subtopologies,
    store: first,
    grouping: first && topology.groupings.get(first.node),
  };
}
