/**
 * How many partitions (so how many tasks) each sub-topology of an app has: sub-topology 0 as
 * many as its input stream; a sub-topology read from a repartition topic as many as that topic
 * (the app's or the configuration's count, the input's by default). Ownership runs over partition
 * numbers 0..max-1: an owner of number p owns task `<s>_p` of every sub-topology s that has a
 * partition p (cluster mode: a slot owns every p with p mod S = slot). Pure.
 */
import type { CompiledApp } from './app/compile.ts';

export interface AppPartitions {
  /** The input stream's partition count (sub-topology 0). */
  source: number;
  /** By sub-topology id. */
  subtopologies: readonly number[];
  /** By repartition topic. */
  topics: ReadonlyMap<string, number>;
  /** The largest count: partition numbers owners are given run below it. */
  max: number;
}

export function appPartitions(compiled: CompiledApp, source: number): AppPartitions {
  const topics = new Map(
    compiled.topology.repartitions.map((plan) => [plan.topic, plan.partitions ?? source] as const),
  );
  const subtopologies = compiled.subtopologies.map((plan) =>
    plan.input.kind === 'stream' ? source : topics.get(plan.input.topic)!,
  );
  return { source, subtopologies, topics, max: Math.max(source, ...subtopologies) };
}

/** The partition numbers below `max` owned by slot `slot` of `slots`. */
export function slotPartitions(max: number, slots: number, slot: number): number[] {
  return Array.from({ length: max }, (_, p) => p).filter((p) => p % slots === slot);
}

/**
 * Without slots, the consumer group assigns input partitions: the owner of input partition i
 * owns number p of a larger sub-topology when p mod source = i, so every number has one owner.
 */
export function groupPartitions(partitions: AppPartitions, assigned: readonly number[]): number[] {
  const owned = new Set(assigned);
  return Array.from({ length: partitions.max }, (_, p) => p).filter((p) => owned.has(p % partitions.source));
}
