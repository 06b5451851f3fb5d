/**
 * api-usage (issue 13): apps/api-usage.ts over a pre-filled topic (1 M requests, 1 000 tenants x
 * 20 APIs, event time over 10 minutes in order per partition), under exactly-once and
 * at-least-once, against the Kafka Streams peer's DSL topology doing the same (`api-usage` mode:
 * a repartition by API, the throttle-alerts branch, same windows, guarantee and commit interval).
 * A third system, sluice counting per API within each input partition (no repartition), gives the
 * repartition's own cost.
 *
 * Checks, every run: the alerts equal the independent computation (test/integration/processor/
 * usage-reference.ts); the per-API windows equal it over the input without the records the engine
 * found late after its repartition (which records those are depends on how the upstream tasks'
 * writes interleave; each engine names them: sluice in its dead-letter topic, the peer in a topic
 * of its own). The no-repartition variant's partial windows equal the computation per input partition.
 * The input ends with one request per tenant and API at a time that closes every window.
 */

import type { ApiUsage, ThrottleAlert } from '../../apps/api-usage.ts';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { type RequestEvent, takeRequests } from '../../schemas/request-generator.ts';
import { expectedAlerts, expectedUsage, ticks } from '../../test/integration/processor/usage-reference.ts';
import type { BenchContext } from '../lib/context.ts';
import { graphOutputs, type LateRecord, PeerBytes } from '../lib/graph-outputs.ts';
import { closingTime, contentIdentity, withoutEach } from '../lib/late-records.ts';
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
type System = 'sluice' | 'sluice-within-partition' | 'kafka-streams';
const systems: System[] = ['sluice', 'sluice-within-partition', 'kafka-streams'];
const systemNames: Record<System, string> = {
  sluice: 'sluice',
  'sluice-within-partition': 'sluice, per API within each input partition (no repartition)',
  'kafka-streams': 'Kafka Streams 4.3.1 (DSL, repartition)',
};

/** The fields by which a late record is matched with the input (all the computation reads). */
const lateKey = (
  event: Pick<RequestEvent, 'userTenantDomain' | 'apiName' | 'throttledOut' | 'responseTime'>,
  time: number,
) => `${event.userTenantDomain}|${event.apiName}|${time}|${event.throttledOut}|${event.responseTime}`;

/** The peer's late record: Topologies.FIELDS (tenant, api, throttled, responseTime, backendTime). */
const decodePeerFields = (value: Buffer) => {
  const bytes = new PeerBytes(value);
  return {
    userTenantDomain: bytes.string(),
    apiName: bytes.string(),
    throttledOut: bytes.boolean(),
    responseTime: bytes.long(),
  };
};

export async function apiUsageWorkload(context: BenchContext): Promise<BenchResult[]> {
  const { services } = context;
  const count = context.quick ? 100_000 : 1_000_000;
  const runs = context.quick ? 1 : 3;
  const kafka = createKafkaClient(
    { brokers: services.brokers.split(','), clientId: 'bench-api-usage' },
    silentLogger(),
  );
  const admin = await kafka.connectAdmin();
  const stamp = Date.now().toString(36);
  const input = `bench-usage-${stamp}`;

  const generated = takeRequests(
    {
      seed: 13,
      tenants: 1000,
      apis: 20,
      startTime: Date.UTC(2026, 0, 1),
      stepMs: (10 * 60_000) / count,
      skew: 0.5,
    },
    count,
  );
  const closedAt = closingTime(generated.at(-1)!.requestTimestamp, 60_000, 10_000);
  const tick = ticks(
    generated[0]!,
    [...new Set(generated.map((event) => event.userTenantDomain))],
    [...new Set(generated.map((event) => event.apiName))],
    closedAt,
    // throttled, so the peer's alerts branch (whose stream time only throttled requests move) closes too
  ).map((event) => ({ ...event, throttledOut: true }));
  const events = [...generated, ...tick];
  context.log(`api-usage: pre-filling ${input} with ${events.length} events (${tick.length} closing ticks)`);
  await prefillRequests({
    kafka,
    registryUrl: services.registryUrl,
    topic: input,
    partitions,
    count: events.length,
    generator: events,
  });
  await ensurePeerJar(context.log);
  const registry = createSchemaRegistryClient(services.registryUrl);
  const usageSchemaId = await registry.register(`${input}-usage-value`, readSchema('ApiUsage.avsc'));
  const alertSchemaId = await registry.register(`${input}-alerts-value`, readSchema('ThrottleAlert.avsc'));

  const outputs = graphOutputs(kafka, services.registryUrl);
  // the partition of every input record, for the no-repartition variant's per-partition windows
  const byPartition = new Map<number, RequestEvent[]>();
  for (const { record, value } of await outputs.decoded<RequestEvent>(input)) {
    const part = byPartition.get(record.partition) ?? [];
    part.push(value);
    byPartition.set(record.partition, part);
  }
  const expectedWithin = [...byPartition.values()].flatMap((part) => expectedUsage(part, closedAt));
  const alertsWanted = expectedAlerts(events, closedAt);

  const check = (what: string, diff: ReturnType<typeof diffOutputs>) => {
    if (!diff.ok) throw new Error(`api-usage: ${what} ${describeDiff(diff)}`);
    return describeDiff(diff);
  };
  const verify = async (system: System, id: string) => {
    const alerts = (await outputs.decoded<ThrottleAlert>(`${id}-alerts`)).map(({ value }) => value);
    const alertsVerdict = check(
      `${systemNames[system]}'s alerts`,
      diffOutputs(alertsWanted, alerts, (a) => `${a.userTenantDomain}|${a.apiName}|${a.windowStart}`),
    );
    const usage = (await outputs.decoded<ApiUsage>(`${id}-usage`)).map(({ value }) => value);
    if (system === 'sluice-within-partition') {
      const verdict = check(
        `${systemNames[system]}'s usage`,
        diffOutputs(expectedWithin, usage, contentIdentity),
      );
      return `usage ${verdict}; alerts ${alertsVerdict}`;
    }
    const late: LateRecord<Parameters<typeof lateKey>[0]>[] =
      system === 'sluice'
        ? await outputs.sluiceLate<RequestEvent>(`${id}-dlq`, `${id}-by-api-repartition`)
        : await outputs.peerLate(`${id}-late`, decodePeerFields);
    const onTime = withoutEach(events, late, {
      all: (event) => lateKey(event, event.requestTimestamp),
      removed: (record) => lateKey(record.value, record.time),
    });
    const verdict = check(
      `${systemNames[system]}'s usage`,
      diffOutputs(expectedUsage(onTime, closedAt), usage, (u) => `${u.apiName}|${u.windowStart}`),
    );
    return `usage ${verdict} (${late.length} late after the repartition, excluded); alerts ${alertsVerdict}`;
  };

  const spawn = (system: System, guarantee: Guarantee, id: string) =>
    system === 'kafka-streams'
      ? spawnPeerRun(services, 'api-usage', {
          id,
          input,
          guarantee,
          flags: {
            output: `${id}-usage`,
            alerts: `${id}-alerts`,
            late: `${id}-late`,
            'schema-id': usageSchemaId,
            'alert-schema-id': alertSchemaId,
          },
        })
      : spawnSluiceRun(
          services,
          {
            app: system === 'sluice' ? apps.apiUsage : apps.apiUsageWithinPartition,
            appId: id,
            inputTopic: input,
            outputTopic: `${id}-usage`,
            partitions,
            streams: {
              ThrottleAlerts: {
                topic: `${id}-alerts`,
                schema: 'ThrottleAlert.avsc',
                partitionKey: 'userTenantDomain',
              },
            },
          },
          { guarantee },
        );

  const figures = await alternatingRuns(systems, runs, context.guarantees, async (system, guarantee, run) => {
    const id = `bench-usage-${stamp}-${run}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}-${system}`;
    await admin.ensureTopics(
      ['usage', 'alerts', 'late'].map((suffix) => ({ topic: `${id}-${suffix}`, partitions })),
    );
    return timedRun(context, {
      what: `api-usage run ${run + 1}/${runs}, ${guarantee}: ${systemNames[system]}`,
      admin,
      group: id,
      input,
      // both engines name it so (the peer's Repartitioned.withName("by-api")); the variant has none
      internalTopics: system === 'sluice-within-partition' ? [] : [`${id}-by-api-repartition`],
      guarantee,
      spawn: () => spawn(system, guarantee, id),
      verify: () => verify(system, id),
    });
  });
  await admin.disconnect();

  const of = (system: System, guarantee: Guarantee) => ({
    name: systemNames[system],
    runs: figures.get(`${system} ${guarantee}`) ?? [],
  });
  const details = { events: events.length, commitIntervalMs: commitInterval, partitions };
  return context.guarantees.flatMap((guarantee) => [
    comparisonRow(context, {
      workload: `api-usage (repartition by API + alerts), ${guarantee}`,
      ours: of('sluice', guarantee),
      theirs: of('kafka-streams', guarantee),
      details,
    }),
    // the repartition's own cost: the same app with and without it, both sluice
    comparisonRow(context, {
      workload: `api-usage with / without its repartition (sluice), ${guarantee}`,
      ours: of('sluice', guarantee),
      theirs: of('sluice-within-partition', guarantee),
      details,
    }),
  ]);
}
