/**
 * The state of an app's deployment, from PostgreSQL (leases, members), Kafka (the lag of every
 * topic the app's group reads: its input and its repartition topics) and, when asked, the tasks
 * each lease holder reports (`/v1/status`, task ids as `<sub-topology>_<partition>`): what
 * `sluice status` prints and the processors' status page shows.
 */
import type pg from 'pg';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { createLeaseRepository } from '../coordination/lease-repository.ts';
import { consumerGroup, isRepartitionTopic } from '../topics.ts';

export interface StatusReport {
  app: string;
  /** The topic the app's group commits offsets on (undefined before its first commit). */
  inputTopic: string | undefined;
  slots: {
    slot: number;
    holder: string | null;
    holderAddress: string | null;
    epoch: number;
    leaseAgeMs: number | null;
    /** The holder's role as it last reported it ('taking-over', 'active', ...); null when unknown. */
    holderRole: string | null;
    /** Set when the slot is borrowed: the slot of the active that holds its lease. */
    borrowedBySlot: number | null;
    standbys: {
      instanceId: string;
      address: string | null;
      changelogLag: number | null;
      seenAgoMs: number;
    }[];
  }[];
  /** Every topic the group reads, the input first, with its summed lag. */
  topics: { topic: string; kind: 'input' | 'repartition'; lag: number }[];
  /** Each partition of each of those topics. */
  partitions: {
    topic: string;
    partition: number;
    committed: string | null;
    end: string;
    lag: number | null;
  }[];
  totalLag: number;
  /** The tasks of each lease holder, as it reports them (`sluice status --tasks`). */
  holders?: HolderTasks[];
}

export interface TaskLine {
  /** `<sub-topology>_<partition>`, as Kafka Streams names tasks. */
  task: string;
  partition: number;
  state: string;
  reason: string | null;
}

export interface HolderTasks {
  slot: number;
  address: string;
  /** undefined when the holder did not answer (with why). */
  tasks?: TaskLine[];
  error?: string;
}

async function topicLags(admin: KafkaAdmin, group: string, topic: string) {
  const [ends, committed] = await Promise.all([
    admin.topicOffsets(topic),
    admin.committedOffsets(group, topic),
  ]);
  return ends.map(({ partition, high }) => {
    const offset = committed.find((entry) => entry.partition === partition)?.offset;
    const has = offset !== undefined && BigInt(offset) >= 0n;
    return {
      topic,
      partition,
      committed: has ? offset : null,
      end: high,
      lag: has ? Number(BigInt(high) - BigInt(offset)) : null,
    };
  });
}

export async function buildStatusReport(options: {
  appId: string;
  /** Known by processors; `sluice status` finds it from the group's committed offsets. */
  inputTopic?: string;
  /** The app's repartition topics (known by processors; else found like the input). */
  topics?: readonly string[];
  admin: KafkaAdmin;
  pool: pg.Pool | undefined;
  schema: string;
}): Promise<StatusReport> {
  const { appId, admin } = options;
  const group = consumerGroup(appId);
  // processors know their topics; `sluice status` finds them from the group's committed offsets
  const committedTopics = options.topics && options.inputTopic ? [] : await admin.committedTopics(group);
  const inputTopic = options.inputTopic ?? committedTopics.find((topic) => !isRepartitionTopic(appId, topic));
  const repartitions = options.topics ?? committedTopics.filter((topic) => isRepartitionTopic(appId, topic));
  const read = [...(inputTopic ? [inputTopic] : []), ...repartitions.filter((topic) => topic !== inputTopic)];
  const partitions = (await Promise.all(read.map((topic) => topicLags(admin, group, topic)))).flat();
  const lagOf = (topic: string) =>
    partitions.filter((entry) => entry.topic === topic).reduce((sum, entry) => sum + (entry.lag ?? 0), 0);
  const topics = read.map((topic) => ({
    topic,
    kind: topic === inputTopic ? ('input' as const) : ('repartition' as const),
    lag: lagOf(topic),
  }));

  let slots: StatusReport['slots'] = [];
  if (options.pool) {
    const repository = createLeaseRepository(options.pool, options.schema);
    const [leases, members] = await Promise.all([repository.leases(appId), repository.members(appId)]);
    slots = leases.map((lease) => {
      const holder = members.find((member) => member.instanceId === lease.holder);
      return {
        slot: lease.slot,
        holder: lease.holder,
        holderAddress: lease.holderAddress,
        epoch: lease.epoch,
        leaseAgeMs: lease.ageMs,
        holderRole: holder?.role ?? null,
        borrowedBySlot: holder && holder.slot !== lease.slot ? holder.slot : null,
        standbys: members
          .filter((member) => member.slot === lease.slot && member.role === 'standby')
          .map((member) => ({
            instanceId: member.instanceId,
            address: member.address,
            changelogLag: member.changelogLag,
            seenAgoMs: member.ageMs,
          })),
      };
    });
  }
  return {
    app: appId,
    inputTopic,
    slots,
    topics,
    partitions,
    totalLag: topics.reduce((sum, entry) => sum + entry.lag, 0),
  };
}

/**
 * Asks each lease holder for its tasks (`GET /v1/status`, with the operator key when given); a
 * holder that does not answer within 3 s is listed with the reason, not waited for.
 */
export async function holderTasks(report: StatusReport, apiKey?: string): Promise<HolderTasks[]> {
  const holders = report.slots.filter((slot) => slot.holderAddress !== null);
  return Promise.all(
    holders.map(async ({ slot, holderAddress }): Promise<HolderTasks> => {
      const address = holderAddress!;
      try {
        const response = await fetch(new URL('/v1/status', address), {
          headers: apiKey ? { 'x-api-key': apiKey } : {},
          signal: AbortSignal.timeout(3000),
        });
        if (!response.ok) return { slot, address, error: `HTTP ${response.status}` };
        const body = (await response.json()) as { instance: { tasks: TaskLine[] } };
        return { slot, address, tasks: body.instance.tasks };
      } catch (error) {
        return { slot, address, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** The report as aligned text for a terminal. */
export function renderStatus(report: StatusReport): string {
  const input = report.inputTopic ?? 'unknown: nothing committed yet';
  const lines = [
    `app ${report.app} (input ${input}), total lag ${report.totalLag} over ${report.topics.length} topic(s)`,
  ];
  if (report.slots.length > 0) {
    lines.push('', 'slot  epoch  lease age  holder');
    for (const slot of report.slots) {
      const age = slot.leaseAgeMs === null ? '-' : `${(slot.leaseAgeMs / 1000).toFixed(1)} s`;
      const how = [
        slot.holderRole && slot.holderRole !== 'active' ? slot.holderRole : undefined,
        slot.borrowedBySlot === null ? undefined : `borrowed by slot ${slot.borrowedBySlot}`,
      ].filter(Boolean);
      lines.push(
        `${String(slot.slot).padEnd(6)}${String(slot.epoch).padEnd(7)}${age.padEnd(11)}${slot.holder ?? '(none: released or never taken)'}${how.length > 0 ? ` (${how.join(', ')})` : ''}`,
      );
      for (const standby of slot.standbys) {
        lines.push(`      standby ${standby.instanceId}  changelog lag ${standby.changelogLag ?? '?'}`);
      }
    }
  }
  for (const topic of report.topics) {
    lines.push('', `${topic.kind} ${topic.topic}, lag ${topic.lag}`, 'partition  committed  end        lag');
    for (const entry of report.partitions.filter((each) => each.topic === topic.topic)) {
      lines.push(
        `${String(entry.partition).padEnd(11)}${(entry.committed ?? '-').padEnd(11)}${entry.end.padEnd(11)}${entry.lag ?? '-'}`,
      );
    }
  }
  for (const holder of report.holders ?? []) {
    lines.push('', `tasks of slot ${holder.slot}'s holder ${holder.address}`);
    if (!holder.tasks) lines.push(`  unreachable: ${holder.error}`);
    for (const task of holder.tasks ?? []) {
      lines.push(`  ${task.task.padEnd(8)}${task.state}${task.reason ? ` (${task.reason})` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
