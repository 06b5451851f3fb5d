/**
 * The topics an app needs, created at start when missing: the source, sinks and tables (from their
 * stream definitions; a table's topic compacted), the changelog of each store (as many partitions
 * as its sub-topology, compacted; a windowed store also deletes after window + grace + a day), its
 * repartition topics (the app's or the configuration's count, the input's by default; no
 * retention limit: consumed records are purged) and the dead-letter topic. An existing internal
 * topic with another count, or a further input stream or partitioned table not co-partitioned
 * with the source, stops start-up saying what to do: task p reads partition p of each of its
 * inputs (app-partitions.ts has the counts).
 */
import { SluiceError } from '../common/errors.ts';
import type { KafkaAdmin, TopicSpec } from '../common/kafka/index.ts';
import type { CompiledApp } from './app/compile.ts';
import { type AppPartitions, appPartitions } from './app-partitions.ts';
import { deadLetterTopic } from './topics.ts';
import type { WindowSpec } from './windows/windows.ts';

const day = 24 * 3_600_000;

/** How long a windowed changelog must keep records: the longest a window can stay open, plus a day. */
function windowRetentionMs(window: WindowSpec): number {
  const open = window.kind === 'session' ? window.gapMs : window.sizeMs;
  return open + window.graceMs + day;
}

export async function ensureAppTopics(
  admin: KafkaAdmin,
  compiled: CompiledApp,
  replicationFactor: number,
): Promise<AppPartitions> {
  const { source, sinks, stores, topology, app } = compiled;
  const withReplication = (spec: TopicSpec): TopicSpec => ({ ...spec, replicationFactor });
  await admin.ensureTopics([
    ...topology.sources.map((each) => withReplication({ topic: each.topic, partitions: each.partitions })),
    ...sinks.map((sink) => withReplication({ topic: sink.topic, partitions: sink.partitions })),
    // a table's topic is its changelog: compacted, so the latest record per key stays
    ...topology.tables
      .filter((table) => table.topic !== source.topic && !sinks.some((sink) => sink.topic === table.topic))
      .map((table) =>
        withReplication({
          topic: table.topic,
          partitions: table.stream.partitions,
          config: { 'cleanup.policy': 'compact' },
        }),
      ),
  ]);
  const partitions = appPartitions(compiled, (await admin.partitionCount(source.topic))!);
  const sourcePartitions = partitions.source;
  /** Why each internal topic must have its count, for the refusal. */
  const expected = new Map<string, { partitions: number; why: string; fix: string }>();
  const internal: TopicSpec[] = [];
  const add = (spec: TopicSpec, why: string, fix: string) => {
    internal.push(withReplication(spec));
    expected.set(spec.topic, { partitions: spec.partitions!, why, fix });
  };
  const recreate = (topic: string, count: number) =>
    `Delete ${topic} (sluice reset) or recreate it with ${count} partitions.`;
  // a downstream task's records go to its own partition number, which may exceed the source's
  add(
    { topic: deadLetterTopic(app.id), partitions: partitions.max },
    `the app's largest sub-topology has ${partitions.max}`,
    recreate(deadLetterTopic(app.id), partitions.max),
  );
  for (const store of stores) {
    const count = partitions.subtopologies[store.subtopology]!;
    add(
      {
        topic: store.changelogTopic,
        partitions: count,
        config: store.window
          ? { 'cleanup.policy': 'compact,delete', 'retention.ms': String(windowRetentionMs(store.window)) }
          : store.retentionMs !== undefined
            ? { 'cleanup.policy': 'compact,delete', 'retention.ms': String(store.retentionMs + day) }
            : { 'cleanup.policy': 'compact' },
      },
      `its store's sub-topology ${store.subtopology} reads ${compiled.subtopologies[store.subtopology]!.input.topic} with ${count}: partition p of one must match partition p of the other`,
      recreate(store.changelogTopic, count),
    );
  }
  for (const repartition of topology.repartitions) {
    const count = partitions.topics.get(repartition.topic)!;
    // kept until consumed: the downstream tasks delete what they committed (task.ts purge)
    add(
      {
        topic: repartition.topic,
        partitions: count,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      },
      `the app asks ${count} for repartition "${repartition.name}" (${repartition.partitions === undefined ? "the input's count" : 'repartition partitions in the app or processor.repartitionPartitions'})`,
      `Keep the topic's count (processor.repartitionPartitions.${repartition.name}: <its count>), or run sluice reset to delete it and the changelogs behind it, then start again with ${count}.`,
    );
  }
  await admin.ensureTopics(internal);
  // every input stream is co-partitioned with the source: a task reads partition p of each
  for (const other of topology.sources.filter((each) => each.topic !== source.topic)) {
    const partitions = await admin.partitionCount(other.topic);
    if (partitions !== sourcePartitions) {
      throw new SluiceError(
        'KAFKA_TOPIC_MISMATCH',
        `the input stream ${other.name} (topic ${other.topic}) has ${partitions} partitions but the source ${source.topic} has ${sourcePartitions}: ` +
          `inputs read by the same task must be co-partitioned (keyed alike, same partition count). Give ${other.topic} ${sourcePartitions} partitions, or repartition one of them first.`,
      );
    }
  }
  // a partitioned table is co-partitioned with the input: task p joins partition p of both
  for (const table of topology.tables.filter((each) => each.kind === 'partitioned')) {
    const partitions = await admin.partitionCount(table.topic);
    if (partitions !== sourcePartitions) {
      throw new SluiceError(
        'KAFKA_TOPIC_MISMATCH',
        `the partitioned table ${table.name} (topic ${table.topic}) has ${partitions} partitions but the source ${source.topic} has ${sourcePartitions}: ` +
          `they must be co-partitioned (same key, same partition count). Give ${table.topic} ${sourcePartitions} partitions, or join it as a global table.`,
      );
    }
  }
  // every mismatch at once, the repartition topics' first: a changed count there is the cause
  const mismatches: string[] = [];
  for (const spec of [...internal].reverse()) {
    const actual = await admin.partitionCount(spec.topic);
    const want = expected.get(spec.topic)!;
    if (actual !== want.partitions) {
      mismatches.push(`${spec.topic} has ${actual} partitions but ${want.why}. ${want.fix}`);
    }
  }
  if (mismatches.length > 0) throw new SluiceError('KAFKA_TOPIC_MISMATCH', mismatches.join('\n'));
  return partitions;
}
