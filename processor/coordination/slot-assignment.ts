/**
 * Which group member consumes which partition when processors run in slots: partition p belongs
 * to slot p mod S and goes to that slot's active (the member with the highest lease epoch for
 * the slot; an older one is a stale active and gets nothing). Partitions of a slot with no member
 * go to the other actives, fewest first, so processing never stops; they return when the slot's
 * active joins again.
 */
import type { AssignmentStrategy } from '../../common/kafka/index.ts';

export interface SlotMemberInfo {
  slot: number;
  /** The lease epoch the member holds. */
  epoch: number;
}

export function encodeSlotInfo(info: SlotMemberInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

function decodeSlotInfo(userData: Buffer): SlotMemberInfo | undefined {
  try {
    const info = JSON.parse(userData.toString('utf8')) as Partial<SlotMemberInfo>;
    return Number.isInteger(info.slot) && Number.isInteger(info.epoch) ? (info as SlotMemberInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: partitions per member id, for one topic. */
export function assignBySlot(
  members: readonly { memberId: string; info: SlotMemberInfo | undefined }[],
  partitions: readonly number[],
  slots: number,
): Map<string, number[]> {
  const activeOfSlot = new Map<number, string>();
  const epochOf = new Map<string, number>();
  for (const { memberId, info } of [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))) {
    if (!info) continue;
    epochOf.set(memberId, info.epoch);
    const current = activeOfSlot.get(info.slot);
    if (current === undefined || info.epoch > epochOf.get(current)!) activeOfSlot.set(info.slot, memberId);
  }
  const result = new Map<string, number[]>(members.map(({ memberId }) => [memberId, []]));
  const orphans: number[] = [];
  for (const partition of [...partitions].sort((a, b) => a - b)) {
    const owner = activeOfSlot.get(partition % slots);
    if (owner) result.get(owner)!.push(partition);
    else orphans.push(partition);
  }
  const actives = [...new Set(activeOfSlot.values())].sort();
  for (const partition of orphans) {
    if (actives.length === 0) break;
    const least = actives.reduce((best, member) =>
      result.get(member)!.length < result.get(best)!.length ? member : best,
    );
    result.get(least)!.push(partition);
  }
  return result;
}

export function slotAssignmentStrategy(info: SlotMemberInfo, slots: number): AssignmentStrategy {
  return {
    name: 'sluice-slots',
    userData: encodeSlotInfo(info),
    assign(members, partitionsByTopic) {
      const decoded = members.map(({ memberId, userData }) => ({ memberId, info: decodeSlotInfo(userData) }));
      const plan = new Map<string, Map<string, number[]>>(
        members.map(({ memberId }) => [memberId, new Map()]),
      );
      for (const [topic, partitions] of partitionsByTopic) {
        for (const [memberId, assigned] of assignBySlot(decoded, partitions, slots)) {
          plan.get(memberId)!.set(topic, assigned);
        }
      }
      return plan;
    },
  };
}
