/**
 * The public API for writing a sluice app: `export default defineApp({ id, source, pipeline })`.
 * Start `sluice processor --app <module>` with it; `sluice describe --app <module>` shows its graph.
 */
import type { HoppingSpec, SessionSpec, TumblingSpec } from '../windows/windows.ts';
import { Graph } from './graph.ts';
import { type EventStream, recordGraph, type Sources, type StreamRef } from './pipeline.ts';

export interface AppDefinition<In> {
  /** Names the consumer group, transactional ids, changelog, repartition and dead-letter topics. */
  id: string;
  /** The input stream (topic, schema, partition key and event-time field come from the config). */
  source: StreamRef<In>;
  /** Builds the graph: any number of chains ending in `.to(stream)`; the return value is ignored. */
  pipeline: (events: EventStream<In>, sources: Sources) => unknown;
}

export interface App {
  id: string;
  /** The app's main input stream (node 0 of the graph). */
  source: string;
  graph: Graph;
}

const appIdPattern = /^[a-z][a-z0-9-]{0,62}$/;

export function defineApp<In>(definition: AppDefinition<In>): App {
  if (!appIdPattern.test(definition.id)) {
    throw new Error(
      `app id "${definition.id}" must be lower-case letters, digits and dashes, starting with a letter`,
    );
  }
  const graph = new Graph();
  const { events, sources } = recordGraph(graph, definition.source);
  definition.pipeline(events, sources);
  return Object.freeze({ id: definition.id, source: definition.source.stream, graph });
}

export const seconds = (n: number) => n * 1000;
export const minutes = (n: number) => n * 60_000;
export const hours = (n: number) => n * 3_600_000;

export function tumbling(options: { size: number; grace?: number }): TumblingSpec {
  return { kind: 'tumbling', sizeMs: options.size, graceMs: options.grace ?? 0 };
}

export function hopping(options: { size: number; advance: number; grace?: number }): HoppingSpec {
  if (options.size % options.advance !== 0)
    throw new Error('hopping windows need a size that is a multiple of advance');
  return { kind: 'hopping', sizeMs: options.size, advanceMs: options.advance, graceMs: options.grace ?? 0 };
}

export function session(options: { gap: number; grace?: number }): SessionSpec {
  return { kind: 'session', gapMs: options.gap, graceMs: options.grace ?? 0 };
}

export type {
  Aggregator,
  KeyedResult,
  SinkHandle,
  StreamJoinOn,
  StreamJoinOptions,
  StreamRef,
  TableRef,
  WindowedResult,
} from './pipeline.ts';
export { stream, table } from './pipeline.ts';
