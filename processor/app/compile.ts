/**
 * Turns an app into the functions a task calls: its graph compiled against the configured
 * streams (topology.ts), then, while tasks run one chain, that chain: steps before the grouping,
 * the grouping, steps after it, one sink. Graphs of another shape are refused here with the reason.
 */
import { SluiceError } from '../../common/errors.ts';
import type { OutgoingRecord } from '../../common/kafka/index.ts';
import type { Stream } from '../../schemas/streams.ts';
import type { App } from './define.ts';
import { describeNode, type GraphNode } from './graph.ts';
import { groupOf } from './group-key.ts';
import { compileTopology, type GroupingPlan, type Topology } from './topology.ts';

type Step = Extract<GraphNode, { kind: 'filter' | 'map' }>;

export class UserCodeError extends Error {
  override readonly name = 'UserCodeError';
}

export interface CompiledApp {
  app: App;
  topology: Topology;
  source: Stream;
  sink: Stream;
  grouping?: GroupingPlan;
  /** Filter/map before grouping (or the whole pipeline when stateless); undefined = filtered out. */
  before(event: unknown): unknown;
  /** Filter/map of what an aggregation emits; undefined = filtered out. */
  after(emitted: unknown): unknown;
  /** The event's time from the source's event-time field; throws when missing or invalid. */
  eventTime(event: unknown): number;
  groupOf(event: unknown): unknown[];
  /** A sink record; `encode` is the sink schema's encoder. */
  toSinkRecord(value: unknown, encode: (value: unknown) => Buffer): OutgoingRecord;
}

function runSteps(steps: readonly Step[], input: unknown): unknown {
  let value = input;
  for (const step of steps) {
    try {
      if (step.kind === 'filter') {
        if (!step.fn(value)) return undefined;
      } else {
        value = step.fn(value);
      }
    } catch (error) {
      throw new UserCodeError(`${step.kind} threw: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
  }
  return value;
}

/** The chain a task runs today: source → filter/map* → [grouping → filter/map*] → sink. */
function linearChain(topology: Topology) {
  const refuse = (why: string) =>
    new SluiceError(
      'CONFIG_INVALID',
      `app ${topology.appId} cannot run yet: ${why}. Tasks run one chain (source, filter/map, at most one grouping that keeps the partitioning, filter/map, one sink); \`sluice describe\` shows the graph`,
    );
  const pre: Step[] = [];
  const post: Step[] = [];
  let grouping: GroupingPlan | undefined;
  let node = topology.nodes[0]!;
  for (;;) {
    const next = topology.children.get(node.id) ?? [];
    if (next.length !== 1) throw refuse(`${describeNode(node)} feeds ${next.length} operators`);
    node = topology.nodes[next[0]!]!;
    if (node.inputs.length !== 1) throw refuse(`${describeNode(node)} has several inputs`);
    if (node.kind === 'sink') return { pre, grouping, post, sink: node.stream };
    if (node.kind === 'filter' || node.kind === 'map') (grouping ? post : pre).push(node);
    else if (node.kind === 'aggregate' && !grouping && topology.repartitions.length === 0)
      grouping = topology.groupings.get(node.id);
    else throw refuse(`${describeNode(node)} is not supported in a chain`);
  }
}

export function compileApp(app: App, streams: ReadonlyMap<string, Stream>): CompiledApp {
  const topology = compileTopology(app, streams);
  const chain = linearChain(topology);
  const source = topology.sources[0]!;
  const sink = streams.get(chain.sink)!;
  const grouping = chain.grouping;

  return {
    app,
    topology,
    source,
    sink,
    grouping,
    before: (event) => runSteps(chain.pre, event),
    after: (emitted) => runSteps(chain.post, emitted),
    eventTime(event) {
      const time = (event as Record<string, unknown>)[source.eventTime!];
      if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
        throw new UserCodeError(
          `event time field ${source.eventTime} is not a non-negative integer: ${String(time)}`,
        );
      }
      return time;
    },
    groupOf: (event) => groupOf(grouping!, event),
    toSinkRecord(value, encode) {
      const key = (value as Record<string, unknown>)[sink.partitionKey];
      if (typeof key !== 'string' || key === '') {
        throw new UserCodeError(`the output has no ${sink.partitionKey} (the sink's partition key)`);
      }
      try {
        return { topic: sink.topic, key, value: encode(value) };
      } catch (error) {
        throw new UserCodeError(
          `the output does not match schema ${sink.schema.name}: ${(error as Error).message}`,
        );
      }
    },
  };
}
