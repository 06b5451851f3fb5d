/**
 * The role of a processor instance in its slot, as a state machine:
 *
 *   starting ──► standby ──► taking-over ──► active ──► demoting ──► standby
 *       │           ▲             │                        │
 *       │           └─────────────┘ (the takeover failed)  │
 *       └──────────────────────────────► stopped ◄─────────┘ (from any state but stopped)
 *
 * taking-over: the lease is held (and renewed) while the tailer stops, producers fence and tasks
 * restore; demoting: the lease is gone, commits have stopped, Kafka clients are being closed.
 */

export type SlotRole = 'starting' | 'standby' | 'taking-over' | 'active' | 'demoting' | 'stopped';

export const slotRoles: readonly SlotRole[] = [
  'starting',
  'standby',
  'taking-over',
  'active',
  'demoting',
  'stopped',
];

import { createStateMachine, type Transitions } from '../../common/state-machine.ts';

const transitions: Transitions<SlotRole> = {
  starting: ['standby', 'taking-over', 'stopped'],
  standby: ['taking-over', 'stopped'],
  'taking-over': ['active', 'standby', 'demoting', 'stopped'],
  active: ['demoting', 'stopped'],
  demoting: ['standby', 'stopped'],
  stopped: [],
};

export interface SlotRoleMachine {
  current(): SlotRole;
  /** Moves to `next`; an illegal transition throws (a bug, never a runtime condition). */
  to(next: SlotRole, reason: string): void;
}

export function createSlotRoleMachine(
  onChange: (change: { from: SlotRole; to: SlotRole; reason: string }) => void,
): SlotRoleMachine {
  const machine = createStateMachine('slot role', transitions, 'starting');
  return {
    current: () => machine.state,
    to(next, reason) {
      const from = machine.to(next);
      onChange({ from, to: next, reason });
    },
  };
}
