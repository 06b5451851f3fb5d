/**
 * W4: restoring a large store (1 M keys: one event per tenant, counted by keyed-count) from its
 * changelog into empty local state, against Kafka Streams restoring its own count store of the
 * same keys, and against a raw read of the same changelog (the reader's ceiling).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import type { RequestEvent } from '../../schemas/request-generator.ts';
import { takeRequests } from '../../schemas/request-generator.ts';
import { logLines } from '../../test/integration/processor/logs.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensurePeerJar, spawnPeer, waitForPeerEvent } from '../lib/peer.ts';
import { prefillRequests } from '../lib/prefill.ts';
import type { BenchResult } from '../lib/results.ts';
import {
  apps,
  benchDeployment,
  measureToCaughtUp,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';

const partitions = 6;

function* distinctTenants(count: number): Generator<RequestEvent> {
  const template = takeRequests(
    { seed: 3, tenants: 1, apis: 1, startTime: Date.UTC(2026, 0, 1), stepMs: 1 },
    1,
  )[0]!;
  for (let i = 0; i < count; i++)
    yield { ...template, userTenantDomain: `t-${i}`, requestTimestamp: template.requestTimestamp + i };
}

export async function restoreWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const keys = context.quick ? 50_000 : 1_000_000;
  const kafka = createKafkaClient(
    { brokers: services.brokers.split(','), clientId: 'bench-restore' },
    silentLogger(),
  );
  const admin = await kafka.connectAdmin();
  const stamp = Date.now().toString(36);
  const input = `bench-restore-${stamp}`;
  context.log(`restore: pre-filling ${input} with ${keys} distinct tenants`);
  await prefillRequests({
    kafka,
    registryUrl: services.registryUrl,
    topic: input,
    partitions,
    count: keys,
    generator: distinctTenants(keys),
  });
  await ensurePeerJar(context.log);

  // sluice: build the store, then restore it into an empty state directory
  const id = `bench-restore-${stamp}`;
  const deployment = benchDeployment(services, {
    app: apps.keyedCount,
    appId: id,
    inputTopic: input,
    outputTopic: `${id}-out`,
    partitions,
  });
  context.log('restore: sluice builds its store');
  const builder = spawnSluiceProcessor(deployment, { stateDir: `${deployment.dir}/state-a` });
  await measureToCaughtUp(admin, id, input, builder);
  await builder.stop();
  context.log('restore: sluice restores into empty state');
  const restorer = spawnSluiceProcessor(deployment, { stateDir: `${deployment.dir}/state-b` });
  const finished = () => logLines(restorer.output()).filter((line) => line.msg === 'restore finished');
  while (finished().length < partitions) {
    if (restorer.exited()) throw new Error(`the processor exited:\n${restorer.output().slice(-2000)}`);
    await sleep(100);
  }
  await restorer.stop();
  const sluiceRecords = finished().reduce((sum, line) => sum + Number(line.done), 0);
  const sluiceMs = Math.max(...finished().map((line) => Number(line.durationMs)));

  // the reader's ceiling: a plain read of the same changelog
  const changelog = `${id}-aggregates-changelog`;
  let raw = 0;
  const rawStart = performance.now();
  await kafka.readTopic({
    topic: changelog,
    until: 'end',
    maxBytesPerPartition: 8 * 1024 * 1024,
    onBatch: (records) => {
      raw += records.length;
    },
  });
  const rawMs = performance.now() - rawStart;

  // Kafka Streams: its own count store of the same keys, then a restore with empty state
  context.log('restore: Kafka Streams builds its store');
  const ksId = `${id}-ks`;
  await admin.ensureTopics([{ topic: `${ksId}-out`, partitions }]);
  const ksBuilder = spawnPeer('count', {
    bootstrap: services.brokers,
    'application-id': ksId,
    input,
    output: `${ksId}-out`,
    'state-dir': `${deployment.dir}/ks-a`,
  });
  await measureToCaughtUp(admin, ksId, input, ksBuilder);
  await ksBuilder.stop();
  context.log('restore: Kafka Streams restores into empty state');
  const ksRestorer = spawnPeer('restore', {
    bootstrap: services.brokers,
    'application-id': ksId,
    input,
    output: `${ksId}-out`,
    'state-dir': `${deployment.dir}/ks-b`,
  });
  const restored = await waitForPeerEvent(ksRestorer, 'restored');
  await ksRestorer.stop();
  await admin.disconnect();
  const ksRecords = Number(restored.event.records);
  const ksMs = Number(restored.event.ms);
  if (sluiceRecords < keys || ksRecords < keys) {
    throw new Error(
      `restores replayed fewer records than keys: sluice ${sluiceRecords}, Kafka Streams ${ksRecords}, keys ${keys}`,
    );
  }
  const sluiceRate = sluiceRecords / (sluiceMs / 1000);
  const ksRate = ksRecords / (ksMs / 1000);
  return [
    {
      workload: `restore (${keys.toLocaleString('en')} keys)`,
      unit: 'changelog records/s',
      sluice: sluiceRate,
      peer: 'Kafka Streams 4.3.1 restore',
      peerFigure: ksRate,
      ratio: sluiceRate / ksRate,
      details: {
        keys,
        sluice: { records: sluiceRecords, ms: Math.round(sluiceMs) },
        kafkaStreams: { records: ksRecords, ms: ksMs },
        rawChangelogRead: {
          records: raw,
          recordsPerSecond: Math.round(raw / (rawMs / 1000)),
          restoreOverRaw: sluiceRate / (raw / (rawMs / 1000)),
        },
        verified: 'both restores replayed at least one record per key',
      },
    },
  ];
}
