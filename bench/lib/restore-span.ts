/**
 * One definition of a restore for both engines: from the moment the first store partition began
 * replaying its changelog to the moment the last one was ready, over all partitions. Each engine
 * reports its partitions' restores (sluice's `restore finished` log lines, the peer's `restore`
 * events), both in epoch ms of this machine's clock; this file reduces them the same way.
 */
import { logLines } from '../../test/integration/processor/logs.ts';

export interface PartitionRestore {
  partition: number;
  startedAt: number;
  endedAt: number;
  records: number;
}

export interface RestoreSpan {
  spanMs: number;
  records: number;
  partitions: number;
  /** The slowest single partition, for comparison with the span. */
  slowestPartitionMs: number;
}

/**
 * The span over every partition's latest restore; throws when a partition has none (a restore
 * that never finished must not look fast).
 */
export function restoreSpan(
  restores: readonly PartitionRestore[],
  partitions: readonly number[],
): RestoreSpan {
  const latest = new Map<number, PartitionRestore>();
  for (const restore of restores) {
    const previous = latest.get(restore.partition);
    if (!previous || restore.startedAt >= previous.startedAt) latest.set(restore.partition, restore);
  }
  const absent = partitions.filter((partition) => !latest.has(partition));
  if (absent.length > 0) throw new Error(`no finished restore for partition(s) ${absent.join(', ')}`);
  const chosen = partitions.map((partition) => latest.get(partition)!);
  const start = Math.min(...chosen.map((restore) => restore.startedAt));
  const end = Math.max(...chosen.map((restore) => restore.endedAt));
  return {
    spanMs: end - start,
    records: chosen.reduce((sum, restore) => sum + restore.records, 0),
    partitions: chosen.length,
    slowestPartitionMs: Math.max(...chosen.map((restore) => restore.endedAt - restore.startedAt)),
  };
}

/** sluice's restores, from its pino lines `restore finished` (time = end, durationMs, done, partition). */
export function sluiceRestores(output: string): PartitionRestore[] {
  return logLines(output)
    .filter((line) => line.msg === 'restore finished')
    .map((line) => ({
      partition: Number(line.partition),
      startedAt: Number(line.time) - Number(line.durationMs),
      endedAt: Number(line.time),
      records: Number(line.done),
    }));
}

/** The Kafka Streams peer's restores, from its `restore` events. */
export function peerRestores(events: readonly Record<string, unknown>[]): PartitionRestore[] {
  return events
    .filter((event) => event.event === 'restore')
    .map((event) => ({
      partition: Number(event.partition),
      startedAt: Number(event.startedAt),
      endedAt: Number(event.endedAt),
      records: Number(event.records),
    }));
}
