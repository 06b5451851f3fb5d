/**
 * The topics an app needs, created at start when missing: the source, sinks and tables (from their
 * stream definitions; a table's topic compacted), the changelog of each store (same partition count as the source, compacted; a
 * windowed store also deletes after window + grace + a day), its repartition topics (same
 * partition count, no retention limit: consumed records are purged) and the dead-letter topic.
 * A changelog, a further input stream or a partitioned table whose partition count differs from
 * the source stops start-up: task p reads partition p of each.
 */
import { SluiceError } from '../common/errors.ts';
import type { KafkaAdmin, TopicSpec } from '../common/kafka/index.ts';
import type { CompiledApp } from './app/compile.ts';
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
): Promise<void> {
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
  const sourcePartitions = (await admin.partitionCount(source.topic))!;
  const internal: TopicSpec[] = [
    withReplication({ topic: deadLetterTopic(app.id), partitions: sourcePartitions }),
  ];
  for (const store of stores) {
    internal.push(
      withReplication({
        topic: store.changelogTopic,
        partitions: sourcePartitions,
        config: store.window
          ? { 'cleanup.policy': 'compact,delete', 'retention.ms': String(windowRetentionMs(store.window)) }
          : store.retentionMs !== undefined
            ? { 'cleanup.policy': 'compact,delete', 'retention.ms': String(store.retentionMs + day) }
            : { 'cleanup.policy': 'compact' },
      }),
    );
  }
  for (const repartition of topology.repartitions) {
    // kept until consumed: the downstream tasks delete what they committed (task.ts purge)
    internal.push(
      withReplication({
        topic: repartition.topic,
        partitions: sourcePartitions,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      }),
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
  for (const spec of internal) {
    const partitions = await admin.partitionCount(spec.topic);
    if (partitions !== sourcePartitions) {
      throw new SluiceError(
        'KAFKA_TOPIC_MISMATCH',
        `${spec.topic} has ${partitions} partitions but the source ${source.topic} has ${sourcePartitions}: ` +
          `partition p of one must match partition p of the other. Delete ${spec.topic} (sluice reset) or ` +
          `recreate it with ${sourcePartitions} partitions.`,
      );
    }
  }
}
