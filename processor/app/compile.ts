/**
 * Turns an app's plan into the functions a task calls, after checking it against the configured
 * streams: the source and sink exist, and the group key contains the source's partition key
 * (state must stay in the partition that owns it; repartitioning does not exist).
 */
import { SluiceError } from '../../common/errors.ts';
import type { OutgoingRecord } from '../../common/kafka/index.ts';
import type { Stream } from '../../schemas/streams.ts';
import type { App } from './define.ts';
import type { GroupingPlan, Step } from './pipeline.ts';

export class UserCodeError extends Error {
  override readonly name = 'UserCodeError';
}

export interface CompiledApp {
  app: App;
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

export function compileApp(app: App, streams: ReadonlyMap<string, Stream>): CompiledApp {
  const problems: string[] = [];
  const source = streams.get(app.source);
  const sink = streams.get(app.plan.sink);
  const known = [...streams.keys()].join(', ') || 'none';
  if (!source)
    problems.push(`source stream "${app.source}" is not in the configuration's streams (${known})`);
  if (!sink) problems.push(`sink stream "${app.plan.sink}" is not in the configuration's streams (${known})`);
  const grouping = app.plan.grouping;
  if (source && grouping && !grouping.fields.includes(source.partitionKey)) {
    problems.push(
      `groupBy(${grouping.fields.map((f) => `'${f}'`).join(', ')}) does not contain the partition key ` +
        `'${source.partitionKey}' of stream ${source.name}: each group's state must stay in the partition ` +
        `that owns it, and sluice does not repartition. Add '${source.partitionKey}' to groupBy.`,
    );
  }
  if (source && source.eventTime === undefined) {
    problems.push(
      `source stream "${source.name}" needs an eventTime field (streams.${source.name}.eventTime)`,
    );
  }
  if (problems.length > 0 || !source || !sink) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `app ${app.id} cannot run:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }

  return {
    app,
    source,
    sink,
    grouping,
    before: (event) => runSteps(app.plan.pre, event),
    after: (emitted) => runSteps(app.plan.post, emitted),
    eventTime(event) {
      const time = (event as Record<string, unknown>)[source.eventTime!];
      if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
        throw new UserCodeError(
          `event time field ${source.eventTime} is not a non-negative integer: ${String(time)}`,
        );
      }
      return time;
    },
    groupOf: (event) => grouping!.fields.map((field) => (event as Record<string, unknown>)[field]),
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
