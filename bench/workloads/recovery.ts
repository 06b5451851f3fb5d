/**
 * W6 recovery, the user's figure: a processor holding a 1 M-key store (keyed-count, exactly-once)
 * is SIGKILLed, a probe (one more record for 1 000 tenants) is written, and the same instance is
 * restarted on the same disk; the figure is restart → first committed output, seen by the
 * failover workload's read_committed observer (bench/lib/output-watch.ts), the same for both
 * engines. sluice replays only the changelog tail its store has not seen; Kafka Streams under
 * exactly-once has no checkpoint after a crash and wipes and restores the whole store. The same
 * is then measured into an empty state directory (a lost disk: a full restore for both).
 * sluice runs in cluster mode (one slot, the lease in PostgreSQL, no consumer group): its lease
 * holder is the identity of its state directory, so restarted on the same disk it takes its lease
 * back at once (the default 2 s TTL applies only to an empty directory, a new identity). Kafka
 * Streams runs twice: with dynamic membership (6 s session, sluice's group-mode budget: the
 * restarted member waits for its dead self to leave the group) and tuned, with static membership
 * (`group.instance.id`, same session: a member back within the session keeps its assignment
 * without a rebalance). Each probe's answers are compared with the input (counts rising to exactly
 * the records per key); 3 rounds, the order rotated, the load gated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaAdmin, KafkaClient } from '../../common/kafka/index.ts';
import { observeToCaughtUp } from '../lib/committed-observer.ts';
import type { BenchContext } from '../lib/context.ts';
import { type CountEngine, probeKeys, sendProbe, verifyProbe } from '../lib/count-output.ts';
import { keyedCountStart } from '../lib/keyed-count-start.ts';
import type { MachineLoad } from '../lib/load-gate.ts';
import { watchOutput } from '../lib/output-watch.ts';
import { peerEvents, peerSessionFlags, spawnPeer } from '../lib/peer.ts';
import { processStats } from '../lib/process-stats.ts';
import { type PartitionRestore, peerRestores, sluiceRestores } from '../lib/restore-span.ts';
import { type BenchResult, comparableRatio } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  type RunningProcess,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { summary } from '../lib/stats.ts';

const partitions = 6;
const probeSize = 1000;
const firstOutputTimeoutMs = 600_000;

type Disk = 'same disk' | 'empty state';

interface Recovery {
  disk: Disk;
  /** Restart (spawn) → first committed output of the probe. */
  ms: number;
  /** Changelog records the restarted instance replayed. */
  restoredRecords: number;
  cpuSeconds: number;
  peakRssMb: number;
  load: MachineLoad;
  verified: string;
}

interface Side {
  engine: CountEngine;
  name: string;
  group: string;
  output: string;
  spawn(stateDir: string): RunningProcess;
  restores(process: RunningProcess): PartitionRestore[];
  /** How the side is configured, for the table. */
  label: string;
}

/** One instance of a side, with the state directory it keeps across restarts. */
interface Instance {
  dir: string;
  process: RunningProcess | undefined;
}

/** Where a restarted sluice processor's time went: its own log lines, ms after the spawn. */
function sluiceMilestones(output: string, spawnedAt: number): string {
  const steps = [
    'processor running',
    'takeover step: lease acquired, renewing',
    'takeover step: fenced',
    'takeover step: first commit',
  ];
  const times = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; time?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.msg && entry.time && steps.includes(entry.msg) && !times.has(entry.msg))
      times.set(entry.msg, entry.time);
  }
  return steps
    .map(
      (step) => `${step.replace('takeover step: ', '')} +${(times.get(step) ?? Number.NaN) - spawnedAt} ms`,
    )
    .join(', ');
}

async function recoverOnce(
  context: BenchContext,
  kafka: KafkaClient,
  admin: KafkaAdmin,
  side: Side,
  instance: Instance,
  options: { input: string; keys: number; previous: number; disk: Disk },
): Promise<Recovery> {
  // steady state: every input record committed, then a moment for the store flush after the commit
  await observeToCaughtUp({
    admin,
    group: side.group,
    input: options.input,
    process: instance.process!,
    spawnedAt: performance.now(),
  });
  await sleep(2000);
  await instance.process!.kill();
  instance.process = undefined;
  if (options.disk === 'empty state') {
    rmSync(instance.dir, { recursive: true, force: true });
    instance.dir = mkdtempSync(join(tmpdir(), 'sluice-bench-recovery-'));
  }
  const load = await context.gate(`recovery ${side.name} (${options.disk})`);
  const watch = await watchOutput(kafka, side.output, [...Array(partitions).keys()]);
  try {
    const probe = await sendProbe({
      kafka,
      registryUrl: context.services.registryUrl,
      input: options.input,
      output: side.output,
      partitions,
      tenants: probeKeys(options.keys, probeSize),
      previous: options.previous,
    });
    const marks = new Map([...probe.marks].map(([partition, offset]) => [partition, BigInt(offset)]));
    const startedAt = Date.now();
    const process = side.spawn(instance.dir);
    instance.process = process;
    const seenAt = await watch.firstPast(marks, firstOutputTimeoutMs);
    if (seenAt === undefined) {
      throw new Error(
        `${side.name} (${options.disk}): no committed output within ${firstOutputTimeoutMs / 1000} s of the restart:\n${process.output().slice(-2000)}`,
      );
    }
    const stats = processStats(process.child.pid!);
    await observeToCaughtUp({
      admin,
      group: side.group,
      input: options.input,
      process,
      spawnedAt: performance.now(),
    });
    const verified = await verifyProbe({
      kafka,
      registryUrl: context.services.registryUrl,
      output: side.output,
      engine: side.engine,
      probe,
    });
    const recovery: Recovery = {
      disk: options.disk,
      ms: seenAt - startedAt,
      restoredRecords: side.restores(process).reduce((sum, restore) => sum + restore.records, 0),
      cpuSeconds: stats?.cpuSeconds ?? 0,
      peakRssMb: stats?.peakRssMb ?? 0,
      load,
      verified,
    };
    context.log(
      `recovery: ${side.name}, ${options.disk}: ${recovery.ms} ms to the first output, ${recovery.restoredRecords} changelog records replayed (load ${load.load1})${side.engine === 'sluice' ? `; ${sluiceMilestones(process.output(), startedAt)}` : ''}`,
    );
    return recovery;
  } finally {
    await watch.stop();
  }
}

export async function recoveryWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const { kafka, admin, input, keys, runs } = await keyedCountStart(context, 'recovery', partitions);
  const id = input;
  const ksId = `${id}-ks`;
  const staticId = `${id}-kss`;
  await admin.ensureTopics([id, ksId, staticId].map((appId) => ({ topic: `${appId}-out`, partitions })));
  const deployment = benchDeployment(services, {
    app: apps.keyedCount,
    appId: id,
    inputTopic: input,
    outputTopic: `${id}-out`,
    partitions,
    cluster: { slots: 1 },
  });
  const peerSide = (
    appId: string,
    name: string,
    label: string,
    flags: Record<string, string | number>,
  ): Side => ({
    engine: 'kafka-streams',
    name,
    label,
    group: appId,
    output: `${appId}-out`,
    spawn: (stateDir) =>
      spawnPeer('count', {
        bootstrap: services.brokers,
        'application-id': appId,
        input,
        output: `${appId}-out`,
        'state-dir': stateDir,
        guarantee: 'exactly_once_v2',
        ...peerSessionFlags,
        ...flags,
      }),
    restores: (process) => peerRestores(peerEvents(process)),
  });
  const sides: Side[] = [
    {
      engine: 'sluice',
      name: 'sluice',
      label: 'sluice, cluster mode (lease held by the state directory identity)',
      group: id,
      output: `${id}-out`,
      spawn: (stateDir) => spawnSluiceProcessor(deployment, { stateDir, guarantee: 'exactly_once', slot: 0 }),
      restores: (process) => sluiceRestores(process.output()),
    },
    peerSide(ksId, 'Kafka Streams 4.3.1', 'Kafka Streams 4.3.1 (dynamic membership, 6 s session)', {}),
    peerSide(
      staticId,
      'Kafka Streams 4.3.1 static',
      'Kafka Streams 4.3.1 (static membership: group.instance.id, 6 s session)',
      { 'group-instance-id': `${staticId}-0` },
    ),
  ];
  const instances = new Map<string, Instance>(
    sides.map((side) => [
      side.name,
      { dir: mkdtempSync(join(tmpdir(), 'sluice-bench-recovery-')), process: undefined },
    ]),
  );
  const figures = new Map<string, Recovery[]>(sides.map((side) => [side.name, []]));
  // the probed tenants' records in the input: one each, plus one per probe sent (by either side)
  let previous = 1;
  try {
    for (let round = 0; round < runs; round++) {
      // rotated: each side runs first once in three rounds
      for (const side of [...sides.slice(round % sides.length), ...sides.slice(0, round % sides.length)]) {
        const instance = instances.get(side.name)!;
        context.log(
          `recovery: round ${round + 1}/${runs}, ${side.name}${round === 0 ? ' builds its store' : ''}`,
        );
        instance.process = side.spawn(instance.dir);
        for (const disk of ['same disk', 'empty state'] as const) {
          const recovery = await recoverOnce(context, kafka, admin, side, instance, {
            input,
            keys,
            previous,
            disk,
          });
          previous++;
          figures.get(side.name)!.push(recovery);
        }
        await instance.process?.stop();
        instance.process = undefined;
      }
    }
  } finally {
    for (const instance of instances.values()) {
      await instance.process?.stop();
      rmSync(instance.dir, { recursive: true, force: true });
    }
    rmSync(deployment.dir, { recursive: true, force: true });
    await admin.disconnect();
  }
  return recoveryResults(context, figures, sides, keys);
}

function recoveryResults(
  context: BenchContext,
  figures: ReadonlyMap<string, Recovery[]>,
  sides: readonly Side[],
  keys: number,
): BenchResult[] {
  const [sluiceSide, ...peers] = sides;
  return (['same disk', 'empty state'] as const).flatMap((disk) => {
    const describe = (side: Side) => {
      const runs = figures.get(side.name)!.filter((recovery) => recovery.disk === disk);
      return {
        ms: summary(runs.map((recovery) => recovery.ms)),
        restoredRecords: runs.map((recovery) => recovery.restoredRecords),
        peakRssMb: Math.round(summary(runs.map((recovery) => recovery.peakRssMb)).median),
        cpuSecondsToFirstOutput: summary(runs.map((recovery) => recovery.cpuSeconds)).median,
        perRun: runs.map((recovery) => ({
          ...recovery,
          load: { load1: recovery.load.load1, busyPercent: Math.round(recovery.load.busy * 100) },
        })),
      };
    };
    const sluice = describe(sluiceSide!);
    const line = (name: string, figure: typeof sluice) =>
      `${name} ${figure.ms.median} ms (${figure.ms.min}–${figure.ms.max}), replayed ${figure.restoredRecords.join('/')} records, peak RSS ${figure.peakRssMb} MB`;
    return peers.map((peerSide) => {
      const peer = describe(peerSide);
      const { ratio, withheld } = comparableRatio(peer.ms.median / sluice.ms.median, {
        quick: context.quick,
      });
      return {
        workload: `recovery (${keys.toLocaleString('en')} keys, exactly-once), SIGKILL + restart on ${disk} -> first output (ratio = peer/sluice)`,
        unit: 'ms',
        sluice: sluice.ms.median,
        peer: peerSide.label,
        peerFigure: peer.ms.median,
        ratio,
        // CPU to the first output is in the details (per record it would mean little here)
        resources: { sluice: { peakRssMb: sluice.peakRssMb }, peer: { peakRssMb: peer.peakRssMb } },
        details: { keys, disk, sluiceMode: sluiceSide!.label, sluice, kafkaStreams: peer, withheld },
        notes: [
          `recovery, ${disk}: ${line('sluice', sluice)}; ${line(peerSide.label, peer)}`,
          ...(withheld ? [`recovery, ${disk}: ${withheld}`] : []),
        ],
      };
    });
  });
}
