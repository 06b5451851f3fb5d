/**
 * The public API for writing a sluice app: `export default defineApp({ id, source, pipeline })`.
 * Start `sluice processor --app <module>` with it.
 */
import type { HoppingSpec, SessionSpec, TumblingSpec } from '../windows/windows.ts';
import { type EventStream, type Plan, type StreamRef, sourceStream } from './pipeline.ts';

export interface AppDefinition<In> {
  /** Names the consumer group, transactional ids, changelog and dead-letter topics. */
  id: string;
  /** The input stream (topic, schema, partition key and event-time field come from the config). */
  source: StreamRef<In>;
  pipeline: (events: EventStream<In>) => Plan;
}

export interface App {
  id: string;
  source: string;
  plan: Plan;
}

const appIdPattern = /^[a-z][a-z0-9-]{0,62}$/;

export function defineApp<In>(definition: AppDefinition<In>): App {
  if (!appIdPattern.test(definition.id)) {
    throw new Error(
      `app id "${definition.id}" must be lower-case letters, digits and dashes, starting with a letter`,
    );
  }
  return Object.freeze({
    id: definition.id,
    source: definition.source.stream,
    plan: definition.pipeline(sourceStream<In>()),
  });
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

export type { KeyedResult, StreamRef, WindowedResult } from './pipeline.ts';
export { stream } from './pipeline.ts';
