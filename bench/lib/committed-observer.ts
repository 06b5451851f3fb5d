/**
 * The one observer of throughput runs, the same code for sluice and Kafka Streams: it reads the
 * consumer group's committed offsets (committed inside each transaction under exactly-once, so
 * they say what is durably done) and the topics' end offsets, from outside the measured process.
 * Start event: the group's first commit. End event: every input record committed, and every other
 * topic the group reads (Kafka Streams' repartition topics) committed to its end. The span
 * between them is the measured time; spawn → first commit is start-up, reported beside it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { processStats } from './process-stats.ts';
import type { RunningProcess } from './sluice-processor-run.ts';

export interface TopicProgress {
  topic: string;
  /** The group's committed offsets ('-1' where none) and the partitions' end offsets. */
  committed: readonly { partition: number; offset: string }[];
  ends: readonly { partition: number; high: string }[];
}

/**
 * Records committed across the topics, and whether every partition of every topic reached its end
 * (less `slack` offsets on all topics but the first, the input).
 */
export function committedProgress(
  topics: readonly TopicProgress[],
  internalSlack = 0,
): { done: number; caughtUp: boolean } {
  let done = 0;
  let caughtUp = true;
  for (const [index, { committed, ends }] of topics.entries()) {
    const slack = index === 0 ? 0n : BigInt(internalSlack);
    const byPartition = new Map(committed.map((entry) => [entry.partition, BigInt(entry.offset)]));
    for (const end of ends) {
      const offset = byPartition.get(end.partition) ?? -1n;
      if (offset > 0n) done += Number(offset);
      // an empty partition needs no commit
      if (BigInt(end.high) > 0n && offset < BigInt(end.high) - slack) caughtUp = false;
    }
  }
  return { done, caughtUp };
}

export interface ObservedRun {
  /** Spawn → the group's first commit. */
  startupMs: number;
  /** First commit → everything committed. */
  spanMs: number;
  /** Input records committed after the first commit (those of the first commit are not timed). */
  records: number;
  recordsPerSecond: number;
  /** CPU of the process within the span (first commit → caught up), all its threads. */
  cpuSecondsInSpan: number;
  cpuSecondsPerMillion: number;
  /** Peak resident memory of the process so far (VmHWM), start-up included. */
  peakRssMb: number;
}

async function topicProgress(admin: KafkaAdmin, group: string, topic: string): Promise<TopicProgress> {
  const [committed, ends] = await Promise.all([
    admin.committedOffsets(group, topic),
    admin.topicOffsets(topic),
  ]);
  return { topic, committed, ends };
}

/** Watches `group` until it has committed all of `input` (and its internal topics). */
export async function observeToCaughtUp(options: {
  admin: KafkaAdmin;
  group: string;
  input: string;
  process: RunningProcess;
  /** performance.now() at spawn. */
  spawnedAt: number;
  /**
   * Internal topics written in transactions end with a commit marker; a consumer that processed
   * the last record may have committed the marker's offset and never commits again without new
   * records, so under exactly-once an internal partition counts as done one offset short of its end.
   */
  exactlyOnce?: boolean;
  /**
   * Topics the group must have committed to their end too, listed or not yet among its commits
   * (a repartition topic: its downstream may not have committed once when the input is done).
   */
  internalTopics?: readonly string[];
  timeoutMs?: number;
}): Promise<ObservedRun> {
  const { admin, group, input, process } = options;
  const deadline = performance.now() + (options.timeoutMs ?? 900_000);
  let first: { at: number; inputDone: number; cpuSeconds: number } | undefined;
  let stats = processStats(process.child.pid!);
  const created = new Set<string>();
  for (;;) {
    if (process.exited()) throw new Error(`the process exited early:\n${process.output().slice(-2000)}`);
    if (performance.now() > deadline)
      throw new Error(`group ${group} did not commit all of ${input} in time`);
    stats = processStats(process.child.pid!) ?? stats;
    // a named internal topic the engine has not created yet is not done
    for (const topic of options.internalTopics ?? [])
      if (!created.has(topic) && (await admin.partitionCount(topic)) !== undefined) created.add(topic);
    const allCreated = created.size === new Set(options.internalTopics).size;
    const others = [...new Set([...created, ...(await admin.committedTopics(group))])].filter(
      (topic) => topic !== input,
    );
    let progress: TopicProgress[];
    try {
      progress = await Promise.all([input, ...others].map((topic) => topicProgress(admin, group, topic)));
    } catch (error) {
      // a topic just created may have no leader yet: look again at the next poll
      if (!(error as { retriable?: boolean }).retriable) throw error;
      await sleep(100);
      continue;
    }
    const [inputProgress, ...internal] = progress;
    const at = performance.now();
    const inputDone = committedProgress([inputProgress!]).done;
    if (!first && inputDone > 0) first = { at, inputDone, cpuSeconds: stats?.cpuSeconds ?? 0 };
    if (
      first &&
      allCreated &&
      committedProgress([inputProgress!, ...internal], options.exactlyOnce ? 1 : 0).caughtUp
    ) {
      const spanMs = at - first.at;
      const records = inputDone - first.inputDone;
      stats = processStats(process.child.pid!) ?? stats;
      const cpuSecondsInSpan = (stats?.cpuSeconds ?? 0) - first.cpuSeconds;
      return {
        startupMs: first.at - options.spawnedAt,
        spanMs,
        records,
        recordsPerSecond: records / (spanMs / 1000),
        cpuSecondsInSpan,
        cpuSecondsPerMillion: (cpuSecondsInSpan / records) * 1e6,
        peakRssMb: stats?.peakRssMb ?? 0,
      };
    }
    await sleep(100);
  }
}
