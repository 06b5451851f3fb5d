/**
 * plan-usage (issue 14): apps/plan-usage.ts over a pre-filled topic (1 M requests, 1 000 tenants,
 * event time over 10 minutes in order per partition) with a compacted tenant-plans topic (900 of
 * the tenants have a plan: free, standard or premium; the others count under `none`), under
 * exactly-once and at-least-once, against the Kafka Streams peer's DSL topology (`plan-usage`
 * mode: KStream–GlobalKTable left join, repartition by tier, the same windows, guarantee and
 * commit interval). sluice's table is global by default, so the peer's is a GlobalKTable: both
 * read all plans before processing and look up the latest row (the plans do not change during a run).
 *
 * Checks, every run: the per-tier windows equal the independent computation
 * (test/integration/processor/plan-reference.ts) over the input without the records the engine
 * found late after its repartition (sluice's dead letters, the peer's late topic). The input ends
 * with one request per tenant at a time that closes every window.
 */

import avro from 'avsc';
import { noPlan, type PlanUsage, type TenantPlan } from '../../apps/plan-usage.ts';
import { createKafkaClient, type KafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { takeRequests, tenantName } from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';
import { expectedPlanUsage, type PlannedRequest } from '../../test/integration/processor/plan-reference.ts';
import { ticks } from '../../test/integration/processor/usage-reference.ts';
import type { BenchContext } from '../lib/context.ts';
import { graphOutputs, type LateRecord, PeerBytes } from '../lib/graph-outputs.ts';
import { closingTime, withoutEach } from '../lib/late-records.ts';
import { describeDiff, diffOutputs } from '../lib/output-diff.ts';
import { ensurePeerJar } from '../lib/peer.ts';
import { prefillRequests, readSchema } from '../lib/prefill.ts';
import type { BenchResult } from '../lib/results.ts';
import { apps } from '../lib/sluice-processor-run.ts';
import {
  alternatingRuns,
  commitInterval,
  comparisonRow,
  type Guarantee,
  spawnPeerRun,
  spawnSluiceRun,
  timedRun,
} from '../lib/throughput-runs.ts';

const partitions = 6;
const tenantCount = 1000;
type System = 'sluice' | 'kafka-streams';
const systems: System[] = ['sluice', 'kafka-streams'];
const systemNames: Record<System, string> = {
  sluice: 'sluice',
  'kafka-streams': 'Kafka Streams 4.3.1 (DSL, GlobalKTable join, repartition)',
};
const tiers = ['free', 'standard', 'premium'];

/** Every tenth tenant has no plan row; the others a tier by their index. */
const planOf = (index: number): string | undefined => (index % 10 === 9 ? undefined : tiers[index % 3]);

const lateKey = (request: PlannedRequest) => `${request.plan}|${request.time}|${request.throttled}`;

/** Writes the tenants' plans to a fresh compacted topic, in the Confluent wire format. */
async function prefillPlans(kafka: KafkaClient, registryUrl: string, topic: string): Promise<void> {
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([{ topic, partitions, config: { 'cleanup.policy': 'compact' } }]);
  await admin.disconnect();
  const schema = readSchema('TenantPlan.avsc');
  const id = await createSchemaRegistryClient(registryUrl).register(`${topic}-value`, schema);
  const encode = createSerde(registryUrl).encoderFor(id, avro.Type.forSchema(schema));
  const producer = await kafka.createProducer({ sendTimeoutMs: 60_000 });
  const rows: TenantPlan[] = [];
  for (let index = 0; index < tenantCount; index++) {
    const plan = planOf(index);
    if (plan) rows.push({ tenant: tenantName(index), plan, requestQuota: 600, updatedAt: 0 });
  }
  await producer.send(rows.map((row) => ({ topic, key: row.tenant, value: encode(row) })));
  await producer.disconnect();
}

export async function planUsageWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const count = context.quick ? 100_000 : 1_000_000;
  const runs = context.quick ? 1 : 3;
  const kafka = createKafkaClient(
    { brokers: services.brokers.split(','), clientId: 'bench-plan-usage' },
    silentLogger(),
  );
  const admin = await kafka.connectAdmin();
  const stamp = Date.now().toString(36);
  const input = `bench-plans-in-${stamp}`;
  const plansTopic = `bench-plans-${stamp}`;

  const generated = takeRequests(
    {
      seed: 14,
      tenants: tenantCount,
      apis: 20,
      startTime: Date.UTC(2026, 0, 1),
      stepMs: (10 * 60_000) / count,
      skew: 0.5,
    },
    count,
  );
  const closedAt = closingTime(generated.at(-1)!.requestTimestamp, 60_000, 10_000);
  const tenants = [...new Set(generated.map((event) => event.userTenantDomain))];
  const events = [...generated, ...ticks(generated[0]!, tenants, ['api-0'], closedAt)];
  context.log(`plan-usage: pre-filling ${input} with ${events.length} events and ${plansTopic} with plans`);
  await prefillPlans(kafka, services.registryUrl, plansTopic);
  await prefillRequests({
    kafka,
    registryUrl: services.registryUrl,
    topic: input,
    partitions,
    count: events.length,
    generator: events,
  });
  await ensurePeerJar(context.log);
  const usageSchemaId = await createSchemaRegistryClient(services.registryUrl).register(
    `${input}-usage-value`,
    readSchema('PlanUsage.avsc'),
  );

  const tierOf = new Map(
    Array.from({ length: tenantCount }, (_, index) => [tenantName(index), planOf(index) ?? noPlan]),
  );
  const planned: PlannedRequest[] = events.map((event) => ({
    plan: tierOf.get(event.userTenantDomain) ?? noPlan,
    time: event.requestTimestamp,
    throttled: event.throttledOut,
  }));
  const outputs = graphOutputs(kafka, services.registryUrl);
  const verify = async (system: System, id: string) => {
    const late: LateRecord<{ plan: string; throttledOut: boolean }>[] =
      system === 'sluice'
        ? await outputs.sluiceLate(`${id}-dlq`, `${id}-by-plan-repartition`)
        : await outputs.peerLate(`${id}-late`, (value) => {
            const bytes = new PeerBytes(value);
            return { plan: bytes.string(), throttledOut: bytes.boolean() };
          });
    const onTime = withoutEach(planned, late, {
      all: lateKey,
      removed: (record) =>
        lateKey({ plan: record.value.plan, time: record.time, throttled: record.value.throttledOut }),
    });
    const usage = (await outputs.decoded<PlanUsage>(`${id}-usage`)).map(({ value }) => value);
    const diff = diffOutputs(expectedPlanUsage(onTime, closedAt), usage, (u) => `${u.plan}|${u.windowStart}`);
    if (!diff.ok) throw new Error(`plan-usage: ${systemNames[system]}'s output ${describeDiff(diff)}`);
    return `${describeDiff(diff)} (${late.length} late after the repartition, excluded)`;
  };

  const spawn = (system: System, guarantee: Guarantee, id: string) =>
    system === 'sluice'
      ? spawnSluiceRun(
          services,
          {
            app: apps.planUsage,
            appId: id,
            inputTopic: input,
            outputTopic: `${id}-usage`,
            partitions,
            streams: {
              TenantPlan: {
                topic: plansTopic,
                schema: 'TenantPlan.avsc',
                partitionKey: 'tenant',
                eventTime: 'updatedAt',
                table: true,
              },
            },
          },
          { guarantee },
        )
      : spawnPeerRun(services, 'plan-usage', {
          id,
          input,
          guarantee,
          flags: { plans: plansTopic, output: `${id}-usage`, late: `${id}-late`, 'schema-id': usageSchemaId },
        });

  const figures = await alternatingRuns(systems, runs, context.guarantees, async (system, guarantee, run) => {
    const id = `bench-plans-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}-${system}`;
    await admin.ensureTopics(['usage', 'late'].map((suffix) => ({ topic: `${id}-${suffix}`, partitions })));
    return timedRun(context, {
      what: `plan-usage run ${run + 1}/${runs}, ${guarantee}: ${systemNames[system]}`,
      admin,
      group: id,
      input,
      // both engines name it so (the peer's Repartitioned.withName("by-plan"))
      internalTopics: [`${id}-by-plan-repartition`],
      guarantee,
      spawn: () => spawn(system, guarantee, id),
      verify: () => verify(system, id),
    });
  });
  await admin.disconnect();

  return context.guarantees.map((guarantee) =>
    comparisonRow(context, {
      workload: `plan-usage (table join + repartition by tier), ${guarantee}`,
      ours: { name: systemNames.sluice, runs: figures.get(`sluice ${guarantee}`) ?? [] },
      theirs: { name: systemNames['kafka-streams'], runs: figures.get(`kafka-streams ${guarantee}`) ?? [] },
      details: { events: events.length, plans: tierOf.size, commitIntervalMs: commitInterval, partitions },
    }),
  );
}
