/**
 * Turns an app into what the processor runs: its graph compiled against the configured streams
 * (topology.ts), then checked against what tasks run today: one sub-topology reading one input
 * stream, with at most one store. Other graphs compile (and `sluice describe` shows them) but are
 * refused here with the reason.
 */
import { SluiceError } from '../../common/errors.ts';
import type { Stream } from '../../schemas/streams.ts';
import { UserCodeError } from '../operators/operator.ts';
import type { App } from './define.ts';
import { compileTopology, type GroupingPlan, type StorePlan, type Topology } from './topology.ts';

export { UserCodeError };

export interface CompiledApp {
  app: App;
  topology: Topology;
  /** The sub-topology tasks run. */
  subtopology: number;
  /** The input stream tasks read. */
  source: Stream;
  /** Every stream the app writes to. */
  sinks: Stream[];
  /** The task's store and the aggregation it holds (absent for stateless apps). */
  store?: StorePlan;
  grouping?: GroupingPlan;
  /** The event's time from the source's event-time field; throws when missing or invalid. */
  eventTime(event: unknown): number;
}

function refuseUnsupported(topology: Topology): void {
  const reasons: string[] = [];
  if (topology.repartitions.length > 0) {
    reasons.push(
      `it repartitions (through ${topology.repartitions.map((each) => each.topic).join(', ')}), which tasks do not run yet`,
    );
  }
  const inputs = topology.subtopologies[0]!.inputs;
  if (topology.subtopologies.length === 1 && inputs.length > 1) {
    reasons.push(
      `it reads ${inputs.length} input streams; tasks read one so far (merge arms of the same input instead)`,
    );
  }
  if (topology.stores.length > 1) {
    reasons.push(`it has ${topology.stores.length} stores; a task holds one so far`);
  }
  if (reasons.length > 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `app ${topology.appId} cannot run yet: ${reasons.join('; ')}. \`sluice describe\` shows its graph`,
    );
  }
}

export function compileApp(app: App, streams: ReadonlyMap<string, Stream>): CompiledApp {
  const topology = compileTopology(app, streams);
  refuseUnsupported(topology);
  const source = topology.sources[0]!;
  const store = topology.stores[0];
  const eventTimeField = source.eventTime!;
  return {
    app,
    topology,
    subtopology: 0,
    source,
    sinks: topology.sinks,
    store,
    grouping: store && topology.groupings.get(store.node),
    eventTime(event) {
      const time = (event as Record<string, unknown>)[eventTimeField];
      if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
        throw new UserCodeError(
          `event time field ${eventTimeField} is not a non-negative integer: ${String(time)}`,
        );
      }
      return time;
    },
  };
}
