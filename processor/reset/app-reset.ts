/**
 * Resetting an app, like Kafka Streams' application reset tool: rewind the group's committed
 * input offsets (to the earliest, a time, or given offsets), delete the app's changelogs and
 * repartition topics (and dead letters on request), and wipe its local state. Refused while the app runs: a live lease
 * or a consumer-group member.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { SluiceError } from '../../common/errors.ts';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { createLeaseRepository } from '../coordination/lease-repository.ts';
import { consumerGroup, deadLetterTopic } from '../topics.ts';

export type ResetTarget =
  | { to: 'earliest' }
  | { to: 'datetime'; timestamp: number }
  | { to: 'offsets'; offsets: Map<number, string> };

export interface ResetPlan {
  app: string;
  inputTopic: string | undefined;
  offsets: { partition: number; from: string | null; to: string }[];
  deleteTopics: string[];
  deleteDirectories: string[];
}

export async function planReset(options: {
  appId: string;
  admin: KafkaAdmin;
  target: ResetTarget;
  inputTopic?: string;
  deleteDeadLetters: boolean;
  stateDir: string;
}): Promise<ResetPlan> {
  const { appId, admin } = options;
  const group = consumerGroup(appId);
  // the group also commits the app's repartition topics: those are deleted, not rewound
  const isInternal = (topic: string) =>
    topic.startsWith(`${appId}-`) && (topic.endsWith('-changelog') || topic.endsWith('-repartition'));
  const inputTopic =
    options.inputTopic ?? (await admin.committedTopics(group)).filter((topic) => !isInternal(topic))[0];
  const offsets: ResetPlan['offsets'] = [];
  if (inputTopic) {
    const [ends, committed] = await Promise.all([
      admin.topicOffsets(inputTopic),
      admin.committedOffsets(group, inputTopic),
    ]);
    const byTime =
      options.target.to === 'datetime'
        ? await admin.offsetsForTimestamp(inputTopic, options.target.timestamp)
        : undefined;
    for (const { partition, low } of ends) {
      const current = committed.find((entry) => entry.partition === partition)?.offset;
      const to =
        options.target.to === 'earliest'
          ? low
          : options.target.to === 'datetime'
            ? (byTime!.find((entry) => entry.partition === partition)?.offset ?? low)
            : (options.target.offsets.get(partition) ?? current ?? low);
      offsets.push({ partition, from: current !== undefined && BigInt(current) >= 0n ? current : null, to });
    }
  }
  const topics = await admin.listTopics();
  const deleteTopics = topics
    .filter(isInternal)
    .concat(
      options.deleteDeadLetters && topics.includes(deadLetterTopic(appId)) ? [deadLetterTopic(appId)] : [],
    )
    .sort();
  const appState = join(options.stateDir, appId);
  return {
    app: appId,
    inputTopic,
    offsets,
    deleteTopics,
    deleteDirectories: existsSync(appState) ? [appState] : [],
  };
}

/** Throws APP_RUNNING when a lease of the app is held and fresh, or its group has members. */
export async function assertNotRunning(options: {
  appId: string;
  admin: KafkaAdmin;
  pool?: pg.Pool;
  schema: string;
  leaseTtlMs: number;
}): Promise<void> {
  const group = await options.admin.describeGroup(consumerGroup(options.appId));
  if (group.members.length > 0) {
    throw new SluiceError(
      'APP_RUNNING',
      `app ${options.appId} is running: its consumer group has ${group.members.length} member(s) (${group.members
        .map((member) => member.host)
        .join(', ')}). Stop every processor of the app first.`,
    );
  }
  if (!options.pool) return;
  const leases = await createLeaseRepository(options.pool, options.schema)
    .leases(options.appId)
    .catch((error) => {
      // no leases table yet: the app never ran with the cluster
      if ((error as { code?: string }).code === '42P01') return [];
      throw error;
    });
  const live = leases.filter(
    (lease) => lease.holder !== null && lease.ageMs !== null && lease.ageMs < options.leaseTtlMs,
  );
  if (live.length > 0) {
    throw new SluiceError(
      'APP_RUNNING',
      `app ${options.appId} is running: slot(s) ${live.map((lease) => lease.slot).join(', ')} have a live lease ` +
        `(holder ${live[0]!.holder}). Stop its processors first (a stopped active releases its lease).`,
    );
  }
}

export async function executeReset(plan: ResetPlan, admin: KafkaAdmin, groupId: string): Promise<void> {
  if (plan.inputTopic && plan.offsets.length > 0) {
    await admin.setCommittedOffsets(
      groupId,
      plan.offsets.map(({ partition, to }) => ({ topic: plan.inputTopic!, partition, offset: to })),
    );
  }
  await admin.deleteTopics(plan.deleteTopics);
  for (const directory of plan.deleteDirectories) rmSync(directory, { recursive: true, force: true });
}
