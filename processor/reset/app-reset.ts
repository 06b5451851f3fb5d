/**
 * Resetting an app, like Kafka Streams' application reset tool: rewind the group's committed
 * input offsets (to the earliest, a time, or given offsets) — of every input topic the group
 * committed, when a task reads several — delete the app's changelogs and
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

type Rewind = { partition: number; from: string | null; to: string }[];

export interface ResetPlan {
  app: string;
  inputTopic: string | undefined;
  offsets: Rewind;
  /** The app's further input topics (a merge or a stream join reads several), rewound alike. */
  otherInputs: { topic: string; offsets: Rewind }[];
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
  const inputs = options.inputTopic
    ? [options.inputTopic]
    : (await admin.committedTopics(group)).filter((topic) => !isInternal(topic));
  if (inputs.length > 1 && options.target.to === 'offsets') {
    throw new SluiceError(
      'CONFIG_INVALID',
      `app ${appId} reads ${inputs.join(', ')}: --to-offsets names one topic's offsets; add --topic <name>, or reset to the earliest or a datetime`,
    );
  }
  const rewinds = await Promise.all(inputs.map((topic) => rewindOf(admin, group, topic, options.target)));
  const [inputTopic, ...others] = inputs;
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
    offsets: rewinds[0] ?? [],
    otherInputs: others.map((topic, index) => ({ topic, offsets: rewinds[index + 1]! })),
    deleteTopics,
    deleteDirectories: existsSync(appState) ? [appState] : [],
  };
}

/** Where each partition of `topic` goes back to, from where the group stands. */
async function rewindOf(
  admin: KafkaAdmin,
  group: string,
  topic: string,
  target: ResetTarget,
): Promise<Rewind> {
  const [ends, committed] = await Promise.all([
    admin.topicOffsets(topic),
    admin.committedOffsets(group, topic),
  ]);
  const byTime =
    target.to === 'datetime' ? await admin.offsetsForTimestamp(topic, target.timestamp) : undefined;
  return ends.map(({ partition, low }) => {
    const current = committed.find((entry) => entry.partition === partition)?.offset;
    const to =
      target.to === 'earliest'
        ? low
        : target.to === 'datetime'
          ? (byTime!.find((entry) => entry.partition === partition)?.offset ?? low)
          : (target.offsets.get(partition) ?? current ?? low);
    return { partition, from: current !== undefined && BigInt(current) >= 0n ? current : null, to };
  });
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
  const inputs = [
    ...(plan.inputTopic ? [{ topic: plan.inputTopic, offsets: plan.offsets }] : []),
    ...plan.otherInputs,
  ];
  const offsets = inputs.flatMap(({ topic, offsets }) =>
    offsets.map(({ partition, to }) => ({ topic, partition, offset: to })),
  );
  if (offsets.length > 0) await admin.setCommittedOffsets(groupId, offsets);
  await admin.deleteTopics(plan.deleteTopics);
  for (const directory of plan.deleteDirectories) rmSync(directory, { recursive: true, force: true });
}
