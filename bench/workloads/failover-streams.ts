/**
 * The Kafka Streams side of W5 (failover): the peer's `count` topology (same input, same feed,
 * same observer as sluice), two instances with one standby replica each way, exactly_once_v2.
 * The instance owning the most active tasks is SIGKILLed after a random part of its heartbeat
 * interval, the other takes its tasks over once the group drops the dead member (the session
 * timeout); the killed instance is restarted (same state directory) and the group left to settle
 * before the next kill.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClient } from '../../common/kafka/index.ts';
import type { BenchContext } from '../lib/context.ts';
import { killAndTime, loadNow, randomDelay } from '../lib/failover-kill.ts';
import {
  checkFailoverOutput,
  type FailoverRun,
  prepareFailoverTopics,
  recordResources,
  startFailoverRunRecord,
} from '../lib/failover-run.ts';
import { watchOutput } from '../lib/output-watch.ts';
import { peerEvents, spawnPeer } from '../lib/peer.ts';
import { createProcessTally } from '../lib/process-stats.ts';
import type { RunningProcess } from '../lib/sluice-processor-run.ts';

export interface StreamsTuning {
  label: string;
  /** Kafka Streams' own defaults when unset: 45 000 ms session, 3 000 ms heartbeat. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

const partitions = 4;
const settleTimeoutMs = 240_000;

/** A peer's active partitions while its last state change was to RUNNING; undefined while rebalancing. */
function owned(peer: RunningProcess): number[] | undefined {
  const events = peerEvents(peer).filter(
    (event) => event.event === 'running' || event.event === 'rebalancing',
  );
  const last = events.at(-1);
  return last?.event === 'running' ? ((last.partitions as number[] | undefined) ?? []) : undefined;
}

/** Both instances RUNNING (no rebalance in progress) and every partition active on one of them. */
async function settled(peers: readonly RunningProcess[]): Promise<void> {
  const deadline = Date.now() + settleTimeoutMs;
  for (;;) {
    const owners = peers.map(owned);
    const all = owners.flatMap((partitions) => partitions ?? []);
    if (owners.every((partitions) => partitions !== undefined) && new Set(all).size === partitions) return;
    const dead = peers.find((peer) => peer.exited());
    if (dead) throw new Error(`the Kafka Streams peer exited:\n${dead.output().slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error('failover (Kafka Streams): the group did not settle within 240 s');
    await sleep(200);
  }
}

export async function streamsFailoverRun(
  context: BenchContext,
  kafka: KafkaClient,
  tuning: StreamsTuning,
  kills: number,
): Promise<FailoverRun> {
  const id = `bench-fo-ks-${tuning.label}-${Date.now().toString(36)}`;
  const run = startFailoverRunRecord(`Kafka Streams, ${tuning.label}`);
  const feed = await prepareFailoverTopics(context, kafka, id, partitions);
  const stateDirs = [0, 1].map((i) => join(tmpdir(), `${id}-${i}`));
  const spawn = (i: number) =>
    spawnPeer('count', {
      bootstrap: context.services.brokers,
      'application-id': id,
      input: `${id}-in`,
      output: `${id}-out`,
      'state-dir': stateDirs[i]!,
      'standby-replicas': 1,
      guarantee: 'exactly_once_v2',
      // Streams' own default under exactly-once (the peer raises it to 60 s for the throughput
      // runs, where a stalled thread on this loaded machine must not be aborted)
      'transaction-timeout-ms': 10_000,
      ...(tuning.sessionTimeoutMs ? { 'session-timeout-ms': tuning.sessionTimeoutMs } : {}),
      ...(tuning.heartbeatIntervalMs ? { 'heartbeat-interval-ms': tuning.heartbeatIntervalMs } : {}),
    });
  const peers = [spawn(0), spawn(1)];
  const watch = await watchOutput(kafka, `${id}-out`, [...Array(partitions).keys()]);
  const tally = createProcessTally();
  try {
    for (let kill = 0; kill < kills; kill++) {
      await settled(peers);
      await sleep(5000); // the standby tasks catch up with the changelog
      await settled(peers); // no rebalance started meanwhile
      const [first, second] = peers.map((peer) => owned(peer) ?? []);
      const index = first!.length >= second!.length ? 0 : 1;
      const watched = index === 0 ? first! : second!;
      const load = loadNow();
      const delayMs = await randomDelay(tuning.heartbeatIntervalMs ?? 3000);
      for (const pid of peers.map((peer) => peer.child.pid)) tally.sample(pid);
      const { ms } = await killAndTime(watch, peers[index]!, watched);
      run.kills.push({ ms, load, delayMs });
      context.log(
        `failover: Kafka Streams (${tuning.label}) kill ${kill + 1}/${kills}: ${ms} ms (load ${load})`,
      );
      peers[index] = spawn(index);
    }
    await settled(peers);
    await feed.stop();
    for (const pid of peers.map((peer) => peer.child.pid)) tally.sample(pid);
    await recordResources(run, tally.totals(), kafka, `${id}-in`);
    run.check = await checkFailoverOutput(context, kafka, id, 'kafka-streams');
    return run;
  } finally {
    await feed.stop();
    await watch.stop();
    await Promise.all(peers.map((peer) => peer.stop()));
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  }
}
