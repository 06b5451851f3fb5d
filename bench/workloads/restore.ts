/**
 * W4: restoring a large store (1 M keys: one event per tenant, counted by keyed-count) from its
 * changelog into empty local state, against Kafka Streams restoring its own count store of the
 * same keys, and against a raw read of the same changelog (the reader's ceiling).
 *
 * Both engines' restores are reduced by one definition (bench/lib/restore-span.ts: the first
 * partition's start to the last partition's store ready, over all partitions); 3 restores each,
 * the order alternated, the load gated before each; after each restore a probe (one more record
 * for 1 000 tenants) must bring every probed tenant's count to exactly its records in the input.
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
import { peerEvents, peerSessionFlags, spawnPeer } from '../lib/peer.ts';
import { processStats } from '../lib/process-stats.ts';
import { type PartitionRestore, peerRestores, restoreSpan, sluiceRestores } from '../lib/restore-span.ts';
import { type BenchResult, comparableRatio } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  type RunningProcess,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';
import { median, summary } from '../lib/stats.ts';

const partitions = 6;
const allPartitions = [...Array(partitions).keys()];
const probeSize = 1000;
const restoreTimeoutMs = 600_000;

interface RestoreRun {
  spanMs: number;
  records: number;
  slowestPartitionMs: number;
  cpuSeconds: number;
  peakRssMb: number;
  load: MachineLoad;
  verified: string;
}

/** Waits until `restores()` covers every partition; the process's /proc figures at that moment. */
export async function waitForRestores(
  process: RunningProcess,
  restores: () => PartitionRestore[],
  timeoutMs = restoreTimeoutMs,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = restores();
    if (new Set(done.map((restore) => restore.partition)).size >= partitions) {
      return { span: restoreSpan(done, allPartitions), stats: processStats(process.child.pid!) };
    }
    if (process.exited())
      throw new Error(`the process exited while restoring:\n${process.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('the restore did not finish in time');
    await sleep(100);
  }
}

interface Side {
  engine: CountEngine;
  name: string;
  group: string;
  output: string;
  spawn(stateDir: string): RunningProcess;
  restores(process: RunningProcess): PartitionRestore[];
}

async function buildStore(admin: KafkaAdmin, side: Side, input: string, dir: string) {
  const builder = side.spawn(dir);
  try {
    await observeToCaughtUp({
      admin,
      group: side.group,
      input,
      process: builder,
      spawnedAt: performance.now(),
    });
  } finally {
    await builder.stop();
  }
}

async function restoreOnce(
  context: BenchContext,
  kafka: KafkaClient,
  admin: KafkaAdmin,
  side: Side,
  options: { input: string; keys: number; round: number; previous: number },
): Promise<RestoreRun> {
  const load = await context.gate(`restore ${side.name} run ${options.round + 1}`);
  context.log(
    `restore: run ${options.round + 1}, ${side.name} restores into empty state (load ${load.load1})`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-restore-'));
  const restorer = side.spawn(dir);
  try {
    const { span, stats } = await waitForRestores(restorer, () => side.restores(restorer));
    // the restored store checked by content (bench/lib/count-output.ts)
    const probe = await sendProbe({
      kafka,
      registryUrl: context.services.registryUrl,
      input: options.input,
      output: side.output,
      partitions,
      tenants: probeKeys(options.keys, probeSize),
      previous: options.previous,
    });
    await observeToCaughtUp({
      admin,
      group: side.group,
      input: options.input,
      process: restorer,
      spawnedAt: performance.now(),
    });
    await restorer.stop();
    const verified = await verifyProbe({
      kafka,
      registryUrl: context.services.registryUrl,
      output: side.output,
      engine: side.engine,
      probe,
    });
    return {
      spanMs: span.spanMs,
      records: span.records,
      slowestPartitionMs: span.slowestPartitionMs,
      cpuSeconds: stats?.cpuSeconds ?? 0,
      peakRssMb: stats?.peakRssMb ?? 0,
      load,
      verified,
    };
  } finally {
    await restorer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function restoreWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const { kafka, admin, input, keys, runs } = await keyedCountStart(context, 'restore', partitions);

  const id = input;
  const deployment = benchDeployment(services, {
    app: apps.keyedCount,
    appId: id,
    inputTopic: input,
    outputTopic: `${id}-out`,
    partitions,
  });
  const ksId = `${id}-ks`;
  await admin.ensureTopics([
    { topic: `${id}-out`, partitions },
    { topic: `${ksId}-out`, partitions },
  ]);
  const sides: Side[] = [
    {
      engine: 'sluice',
      name: 'sluice',
      group: id,
      output: `${id}-out`,
      spawn: (stateDir) => spawnSluiceProcessor(deployment, { stateDir }),
      restores: (process) => sluiceRestores(process.output()),
    },
    {
      engine: 'kafka-streams',
      name: 'Kafka Streams 4.3.1',
      group: ksId,
      output: `${ksId}-out`,
      spawn: (stateDir) =>
        spawnPeer('restore', {
          bootstrap: services.brokers,
          'application-id': ksId,
          input,
          output: `${ksId}-out`,
          'state-dir': stateDir,
          ...peerSessionFlags,
        }),
      restores: (process) => peerRestores(peerEvents(process)),
    },
  ];
  const figures = new Map<CountEngine, RestoreRun[]>(sides.map((side) => [side.engine, []]));
  let raw = 0;
  let rawMs = 0;
  // the processes' directories go whatever happens (a failed check throws)
  try {
    for (const side of sides) {
      context.log(`restore: ${side.name} builds its store`);
      const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-build-'));
      await buildStore(admin, side, input, dir).finally(() => rmSync(dir, { recursive: true, force: true }));
    }

    // the reader's ceiling: a plain read of the same changelog
    const changelog = `${id}-aggregates-changelog`;
    const rawStart = performance.now();
    await kafka.readTopic({
      topic: changelog,
      until: 'end',
      maxBytesPerPartition: 8 * 1024 * 1024,
      onBatch: (records) => {
        raw += records.length;
      },
    });
    rawMs = performance.now() - rawStart;

    // the probed tenants' records in the input: one each, plus one per probe sent (by either side)
    let previous = 1;
    for (let round = 0; round < runs; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        figures
          .get(side.engine)!
          .push(await restoreOnce(context, kafka, admin, side, { input, keys, round, previous }));
        previous++;
      }
    }
  } finally {
    await admin.disconnect();
    rmSync(deployment.dir, { recursive: true, force: true });
  }

  for (const [engine, list] of figures) {
    const short = list.find((run) => run.records < keys);
    if (short) throw new Error(`${engine} restored ${short.records} records, fewer than the ${keys} keys`);
  }
  const rate = (run: RestoreRun) => run.records / (run.spanMs / 1000);
  const describe = (engine: CountEngine) => {
    const list = figures.get(engine)!;
    const rates = summary(list.map(rate));
    return {
      recordsPerSecond: {
        median: Math.round(rates.median),
        min: Math.round(rates.min),
        max: Math.round(rates.max),
      },
      spanMs: summary(list.map((run) => Math.round(run.spanMs))),
      cpuSecondsPerMillion: Math.round(median(list.map((run) => (run.cpuSeconds / run.records) * 1e6))),
      peakRssMb: Math.round(median(list.map((run) => run.peakRssMb))),
      perRun: list.map((run) => ({
        ...run,
        recordsPerSecond: Math.round(rate(run)),
        load: { load1: run.load.load1, busyPercent: Math.round(run.load.busy * 100) },
      })),
    };
  };
  const sluice = describe('sluice');
  const kafkaStreams = describe('kafka-streams');
  const { ratio, withheld } = comparableRatio(
    sluice.recordsPerSecond.median / kafkaStreams.recordsPerSecond.median,
    {
      quick: context.quick,
    },
  );
  const rawRate = raw / (rawMs / 1000);
  const line = (name: string, figure: typeof sluice) =>
    `${name} ${figure.recordsPerSecond.median.toLocaleString('en')} records/s (${figure.recordsPerSecond.min.toLocaleString('en')}–${figure.recordsPerSecond.max.toLocaleString('en')}), span ${figure.spanMs.median} ms, peak RSS ${figure.peakRssMb} MB, ${figure.cpuSecondsPerMillion} CPU-s per M records (start-up included)`;
  return [
    {
      workload: `restore (${keys.toLocaleString('en')} keys, empty state)`,
      unit: 'changelog records/s',
      sluice: sluice.recordsPerSecond.median,
      peer: 'Kafka Streams 4.3.1 restore',
      peerFigure: kafkaStreams.recordsPerSecond.median,
      ratio,
      resources: {
        sluice: { peakRssMb: sluice.peakRssMb, cpuSecondsPerMillion: sluice.cpuSecondsPerMillion },
        peer: { peakRssMb: kafkaStreams.peakRssMb, cpuSecondsPerMillion: kafkaStreams.cpuSecondsPerMillion },
      },
      details: {
        keys,
        runs,
        definition: 'all partitions, first partition restore start to last partition store ready',
        sluice,
        kafkaStreams,
        rawChangelogRead: {
          records: raw,
          recordsPerSecond: Math.round(rawRate),
          restoreOverRaw: sluice.recordsPerSecond.median / rawRate,
        },
        withheld,
      },
      notes: [
        `restore: ${line('sluice', sluice)}; ${line('Kafka Streams', kafkaStreams)}`,
        ...(withheld ? [`restore: ${withheld}`] : []),
      ],
    },
  ];
}
