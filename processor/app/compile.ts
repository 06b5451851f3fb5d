/**
 * Turns an app into what the processor runs: its graph compiled against the configured streams
 * (topology.ts), one plan per sub-topology, checked against what tasks run today: each task
 * reads one input (a stream or a repartition topic). Other graphs compile (and `sluice describe`
 * shows them) but are refused here with the reason.
 */
import { SluiceError } from '../../common/errors.ts';
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

/** What the tasks of one sub-topology run: task `<id>_<p>` reads partition p of `inputTopic`. */
export interface SubtopologyPlan {
  id: number;
  input: SubtopologyInput;
  /** The source stream when the input is one (Avro, event time from a field); absent for a repartition topic. */
  stream?: Stream;
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

function refuseUnsupported(topology: Topology): void {
  const reasons: string[] = [];
  for (const part of topology.subtopologies) {
    if (part.inputs.length > 1) {
      reasons.push(
        `sub-topology ${part.id} reads ${part.inputs.length} inputs (${part.inputs.map((input) => input.topic).join(', ')}); a task reads one so far (merge arms of the same input instead)`,
      );
    }
  }
  if (reasons.length > 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `app ${topology.appId} cannot run yet: ${reasons.join('; ')}. \`sluice describe\` shows its graph`,
    );
  }
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
  refuseUnsupported(topology);
  const subtopologies = topology.subtopologies.map((part): SubtopologyPlan => {
    const input = part.inputs[0]!;
    return {
      id: part.id,
      input,
      stream: input.kind === 'stream' ? streams.get(input.stream) : undefined,
      stores: topology.stores.filter((each) => each.subtopology === part.id),
    };
  });
  const first = topology.stores[0];
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
