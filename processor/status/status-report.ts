/**
 * The state of an app's deployment, from PostgreSQL (leases, members) and Kafka (consumer lag):
 * what `sluice status` prints and the processors' status page shows.
 */
import type pg from 'pg';
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { createLeaseRepository } from '../coordination/lease-repository.ts';
import { consumerGroup } from '../topics.ts';

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
  partitions: { partition: number; committed: string | null; end: string; lag: number | null }[];
  totalLag: number;
}

export async function buildStatusReport(options: {
  appId: string;
  /** Known by processors; `sluice status` finds it from the group's committed offsets. */
  inputTopic?: string;
  admin: KafkaAdmin;
  pool: pg.Pool | undefined;
  schema: string;
}): Promise<StatusReport> {
  const { appId, admin } = options;
  const inputTopic = options.inputTopic ?? (await admin.committedTopics(consumerGroup(appId)))[0];
  const [ends, committed] = inputTopic
    ? await Promise.all([
        admin.topicOffsets(inputTopic),
        admin.committedOffsets(consumerGroup(appId), inputTopic),
      ])
    : [[], []];
  const partitions = ends.map(({ partition, high }) => {
    const offset = committed.find((entry) => entry.partition === partition)?.offset;
    const has = offset !== undefined && BigInt(offset) >= 0n;
    return {
      partition,
      committed: has ? offset : null,
      end: high,
      lag: has ? Number(BigInt(high) - BigInt(offset)) : null,
    };
  });

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
    partitions,
    totalLag: partitions.reduce((sum, entry) => sum + (entry.lag ?? 0), 0),
  };
}

/** The report as aligned text for a terminal. */
export function renderStatus(report: StatusReport): string {
  const input = report.inputTopic ?? 'unknown: nothing committed yet';
  const lines = [`app ${report.app} (input ${input}), total lag ${report.totalLag}`];
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
  lines.push('', 'partition  committed  end        lag');
  for (const entry of report.partitions) {
    lines.push(
      `${String(entry.partition).padEnd(11)}${(entry.committed ?? '-').padEnd(11)}${entry.end.padEnd(11)}${entry.lag ?? '-'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
