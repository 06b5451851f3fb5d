/** Writing a fixture's TenantPlan table (rows and tombstones), and watching a processor apply it. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TenantPlan } from '../../../schemas/event-types.ts';
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';
import { testKafka } from '../../env/clients.ts';
import { testServices } from '../../env/services.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');

/** The extra stream a fixture needs for the plan table. */
export const tenantPlanStream = {
  TenantPlan: {
    schema: 'schemas/TenantPlan.avsc',
    partitionKey: 'tenant',
    eventTime: 'updatedAt',
    table: true,
  },
};

export interface PlanTableWriter {
  topic: string;
  /** Rows keyed by tenant; `null` deletes the tenant's row (a tombstone). `at`: the records' timestamp. */
  write(rows: Record<string, Omit<TenantPlan, 'tenant'> | null>, at?: number): Promise<void>;
  /** A value that is not Avro at all, under a tenant's key. */
  writeGarbage(tenant: string): Promise<void>;
  close(): Promise<void>;
}

/** Creates the table's topic (compacted, as sluice would) so rows can be written before the processor starts. */
export async function planTableWriter(
  fixture: AnalyticsFixture,
  partitions: number,
): Promise<PlanTableWriter> {
  const topic = `tenantplan-${fixture.appId}`;
  await fixture.admin.ensureTopics([{ topic, partitions, config: { 'cleanup.policy': 'compact' } }]);
  const schema = JSON.parse(readFileSync(join(repo, 'schemas', 'TenantPlan.avsc'), 'utf8'));
  const schemaId = await fixture.registry.register(`${topic}-value`, schema);
  const producer = await testKafka(testServices().kafkaBrokers).createProducer();
  return {
    topic,
    async write(rows, at) {
      const records = await Promise.all(
        Object.entries(rows).map(async ([tenant, row]) => ({
          topic,
          key: tenant,
          value: row === null ? null : await fixture.registry.encode(schemaId, { tenant, ...row }),
          ...(at === undefined ? {} : { timestamp: at }),
        })),
      );
      await producer.send(records);
    },
    async writeGarbage(tenant) {
      await producer.send([{ topic, key: tenant, value: Buffer.from('not avro') }]);
    },
    close: () => producer.disconnect(),
  };
}

/** A sample of a processor's metric for one table, or undefined before it has one. */
async function tableMetric(address: string, metric: string, table: string): Promise<number | undefined> {
  const text = await (await fetch(`${address}/metrics`)).text();
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${metric}{`) && candidate.includes(`table="${table}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Waits until the processor has applied `count` records of the table since it started. */
export async function waitTableApplied(address: string, table: string, count: number): Promise<void> {
  let applied: number | undefined;
  await waitFor(
    `the processor to apply ${count} records of table ${table}`,
    async () => {
      applied = await tableMetric(address, 'sluice_processor_table_records_applied_total', table);
      return applied !== undefined && applied >= count;
    },
    { describe: () => ({ applied }) },
  );
}

export const tableRows = (address: string, table: string) =>
  tableMetric(address, 'sluice_processor_table_rows', table);

export const tableUndecodable = (address: string, table: string) =>
  tableMetric(address, 'sluice_processor_table_undecodable_total', table);

const base = takeRequests({ seed: 7, tenants: 1, apis: 1, startTime: 0, stepMs: 1 }, 1)[0]!;

/** A request of `userTenantDomain` at `requestTimestamp` (the rest of it does not matter to joins). */
export const requestAt = (userTenantDomain: string, requestTimestamp: number): RequestEvent => ({
  ...base,
  userTenantDomain,
  requestTimestamp,
});

const joinedStream = {
  schema: 'test/integration/processor/apps/JoinedRequest.avsc',
  partitionKey: 'userTenantDomain',
  eventTime: 'requestTimestamp',
};

/** A fixture running a join test app (test/integration/processor/apps/), with its plan table's writer. */
export async function createJoinFixture(
  appFile: string,
  partitions: number,
  options: {
    /** The table topic's partition count (to test a table that is not co-partitioned). */
    tablePartitions?: number;
    /** Cluster mode with this many slots. */
    slots?: number;
  } = {},
): Promise<{ fixture: AnalyticsFixture; plans: PlanTableWriter }> {
  const fixture = await createAnalyticsFixture({
    app: join(repo, 'test', 'integration', 'processor', 'apps', appFile),
    partitions,
    slots: options.slots,
    extraStreams: { ...tenantPlanStream, Joined: joinedStream, LeftJoined: joinedStream },
  });
  return { fixture, plans: await planTableWriter(fixture, options.tablePartitions ?? partitions) };
}

/** A table query's status and body: GET /v1/apps/{app}/tables/{table}/keys/{key}[?at=]. */
export async function queryTable(
  address: string,
  appId: string,
  table: string,
  key: string,
  at?: number | string,
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked by the assertions
): Promise<{ status: number; body: any }> {
  const query = at === undefined ? '' : `?at=${encodeURIComponent(String(at))}`;
  const response = await fetch(
    `${address}/v1/apps/${appId}/tables/${table}/keys/${encodeURIComponent(key)}${query}`,
  );
  return { status: response.status, body: await response.json() };
}
