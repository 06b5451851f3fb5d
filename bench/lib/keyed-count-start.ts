/**
 * Where the keyed-count workloads (restore, recovery) start: a fresh topic of distinct tenants
 * (1 M; 50 000 with --quick), an admin client, and the Kafka Streams peer built.
 */
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import type { BenchContext } from './context.ts';
import { ensurePeerJar } from './peer.ts';
import { prefillDistinctTenantsTopic } from './prefill.ts';

export async function keyedCountStart(
  context: BenchContext,
  workload: 'restore' | 'recovery',
  partitions: number,
): Promise<{ kafka: KafkaClient; admin: KafkaAdmin; input: string; keys: number; runs: number }> {
  const keys = context.quick ? 50_000 : 1_000_000;
  const kafka = createKafkaClient(
    { brokers: context.services.brokers.split(','), clientId: `bench-${workload}` },
    silentLogger(),
  );
  const admin = await kafka.connectAdmin();
  const input = await prefillDistinctTenantsTopic({
    kafka,
    registryUrl: context.services.registryUrl,
    workload,
    keys,
    partitions,
    log: context.log,
  });
  await ensurePeerJar(context.log);
  return { kafka, admin, input, keys, runs: context.quick ? 1 : 3 };
}
