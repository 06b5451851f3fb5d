import { describe, expect, it } from 'vitest';
import { assignBySlot } from '../../../processor/coordination/slot-assignment.ts';

const partitions = [0, 1, 2, 3, 4, 5];
const member = (memberId: string, slot: number, epoch = 1) => ({ memberId, info: { slot, epoch } });

describe('slot assignment', () => {
  it("gives each slot's active the partitions p with p mod S = slot", () => {
    const plan = assignBySlot([member('a', 0), member('b', 1)], partitions, 2);
    expect(plan.get('a')).toEqual([0, 2, 4]);
    expect(plan.get('b')).toEqual([1, 3, 5]);
  });

  it('hands the partitions of a slot without members to the other actives, fewest first', () => {
    const plan = assignBySlot([member('a', 0), member('b', 1)], partitions, 3);
    // slot 2 (partitions 2 and 5) has no member
    expect(plan.get('a')).toEqual([0, 3, 2]);
    expect(plan.get('b')).toEqual([1, 4, 5]);
  });

  it('gives nothing to a stale active: the member with the higher lease epoch wins the slot', () => {
    const plan = assignBySlot([member('old', 0, 3), member('new', 0, 4), member('b', 1, 1)], partitions, 2);
    expect(plan.get('new')).toEqual([0, 2, 4]);
    expect(plan.get('old')).toEqual([]);
    expect(plan.get('b')).toEqual([1, 3, 5]);
  });

  it('gives nothing to members without slot information, and everything to a lone active', () => {
    const plan = assignBySlot([{ memberId: 'x', info: undefined }, member('a', 1)], partitions, 2);
    expect(plan.get('x')).toEqual([]);
    expect(plan.get('a')?.sort()).toEqual(partitions);
  });

  it('is deterministic whatever the member order', () => {
    const members = [member('c', 2), member('a', 0), member('b', 1)];
    expect(assignBySlot(members, partitions, 4)).toEqual(assignBySlot([...members].reverse(), partitions, 4));
  });
});
