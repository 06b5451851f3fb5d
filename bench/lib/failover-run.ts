/**
 * What the failover workload's runs share, for sluice and Kafka Streams alike: the topics and the
 * steady feed of a run, the figures it records (each kill, the machine's load before the run), and
 * the check of its output once the feed stopped and the engine caught up. A wrong output fails
 * the run: no figure of it is reported.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClient } from '../../common/kafka/index.ts';
import { consumerGroup } from '../../processor/topics.ts';
import type { BenchContext } from './context.ts';
import { decodeCountOutputs } from './count-output.ts';
import { loadNow } from './failover-kill.ts';
import { readAll } from './read-all.ts';
import { type RequestFeed, startRequestFeed } from './request-feed.ts';
import { type CountCheck, checkRunningCounts } from './running-count-check.ts';

/** Events per second while processes are killed (a steady load well below either engine's peak). */
const feedRate = 2000;
const catchUpTimeoutMs = 180_000;

export interface FailoverKill {
  /** Kill → first committed output of the new owner. */
  ms: number;
  /** 1-minute load average just before the kill. */
  load: number;
  /** The random wait before the kill: into the lease renewal interval (sluice) or heartbeat (peer). */
  delayMs: number;
  /** sluice: ms from the kill to each takeover step the new owner logged (lease acquired, ...). */
  steps?: Record<string, number>;
}

export interface FailoverRun {
  system: string;
  /** 1-minute load average before the run (`uptime` in full below). */
  load: number;
  uptime: string;
  kills: FailoverKill[];
  check?: CountCheck;
  /** Largest peak RSS of the engine's processes, and their CPU per million input records. */
  resources?: { peakRssMb: number; cpuSecondsPerMillion: number };
}

/** The run's resources from the tally of its processes, per the input it was fed. */
export async function recordResources(
  run: FailoverRun,
  totals: { peakRssMb: number; cpuSeconds: number },
  kafka: KafkaClient,
  input: string,
): Promise<void> {
  const admin = await kafka.connectAdmin();
  const records = (await admin.topicOffsets(input)).reduce((sum, entry) => sum + Number(entry.high), 0);
  await admin.disconnect();
  run.resources = {
    peakRssMb: Math.round(totals.peakRssMb),
    cpuSecondsPerMillion: Math.round((totals.cpuSeconds / Math.max(1, records)) * 1e6),
  };
}

export function startFailoverRunRecord(system: string): FailoverRun {
  return { system, load: loadNow(), uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(), kills: [] };
}

/** The run's input and output topics, and the feed into the input (started). */
export async function prepareFailoverTopics(
  context: BenchContext,
  kafka: KafkaClient,
  id: string,
  partitions: number,
): Promise<RequestFeed> {
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([
    { topic: `${id}-in`, partitions },
    { topic: `${id}-out`, partitions },
  ]);
  await admin.disconnect();
  return startRequestFeed({
    kafka,
    registryUrl: context.services.registryUrl,
    topic: `${id}-in`,
    partitions,
    rate: feedRate,
  });
}

/**
 * Waits until the app's group (sluice commits to it without members; Kafka Streams' group is the
 * application id) has committed the whole input, then checks the output by content.
 */
export async function checkFailoverOutput(
  context: BenchContext,
  kafka: KafkaClient,
  id: string,
  engine: 'sluice' | 'kafka-streams',
): Promise<CountCheck> {
  const input = `${id}-in`;
  const output = `${id}-out`;
  const admin = await kafka.connectAdmin();
  try {
    const ends = await admin.topicOffsets(input);
    const deadline = Date.now() + catchUpTimeoutMs;
    for (;;) {
      const committed = new Map(
        (await admin.committedOffsets(consumerGroup(id), input)).map((entry) => [
          entry.partition,
          BigInt(entry.offset),
        ]),
      );
      if (ends.every((end) => (committed.get(end.partition) ?? -1n) >= BigInt(end.high))) break;
      if (Date.now() > deadline)
        throw new Error(`failover (${engine}): the input was not processed within 180 s`);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
  const inputKeys = (await readAll(kafka, input)).map((record) => record.key!.toString('utf8'));
  // readAll keeps each partition's offset order; a key only ever lands in one partition
  const outputs = await decodeCountOutputs(
    context.services.registryUrl,
    await readAll(kafka, output),
    engine,
  );
  const check = checkRunningCounts(inputKeys, outputs);
  if (!check.ok) {
    throw new Error(`failover (${engine}): wrong output in ${output}:\n  ${check.problems.join('\n  ')}`);
  }
  return check;
}
