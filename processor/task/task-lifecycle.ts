/**
 * The lifecycle of one owned partition's task, across the restarts the recovery policy decides.
 * It is the owner of the partition's task state and restore progress (the status page and the
 * `sluice_processor_tasks{state}` gauge read it here).
 *
 *   created ──► restoring ──► running ◄──► suspended ──► restoring (restart)
 *                   │            │             │
 *                   └────────────┴─────────────┴──► corrupted ──► restoring (wiped store)
 *   any state ──► closed (the partition is no longer owned, or the instance stops)
 *
 * `suspended` says why (a dependency unavailable, waiting for a restart after a failure, the lease
 * not allowing commits) and, when known, until when.
 */
import { createStateMachine, type StateMachine, type Transitions } from '../../common/state-machine.ts';

export type TaskState = 'created' | 'restoring' | 'running' | 'suspended' | 'corrupted' | 'closed';

export const taskStates: readonly TaskState[] = [
  'created',
  'restoring',
  'running',
  'suspended',
  'corrupted',
  'closed',
];

const transitions: Transitions<TaskState> = {
  created: ['restoring', 'closed'],
  restoring: ['running', 'suspended', 'corrupted', 'closed'],
  running: ['suspended', 'corrupted', 'closed'],
  suspended: ['running', 'restoring', 'corrupted', 'closed'],
  corrupted: ['restoring', 'closed'],
  closed: [],
};

export interface TaskStatus {
  partition: number;
  /** `<sub-topology>_<partition>` (set by the task manager, which knows the sub-topology). */
  task?: string;
  state: TaskState;
  /** Why the task is suspended or corrupted (the error, described). */
  reason?: string;
  /** clock.now() of the last transition. */
  since: number;
  /** Changelog records restored so far in the current (or last) restore, and how many there were. */
  restoreDone: number;
  restoreTotal: number;
  /** Consecutive failures (reset by a successful commit). */
  attempt: number;
  /** The last time the input's committed offset was gone: where it was and where reading continued. */
  inputReset?: { from: string; to: string; skipped: string };
}

export class TaskLifecycle {
  readonly partition: number;
  private readonly machine: StateMachine<TaskState>;
  private why: string | undefined;
  private changedAt: number;
  private restored = { done: 0, total: 0 };
  /** Set by an offset reset (retention removed input the task had not processed). */
  inputReset: TaskStatus['inputReset'];
  /** Consecutive failures of the partition: the backoff's exponent. */
  attempt = 0;
  private readonly now: () => number;
  private readonly onChange: () => void;

  constructor(partition: number, now: () => number, onChange: () => void) {
    this.partition = partition;
    this.machine = createStateMachine(`task ${partition}`, transitions, 'created');
    this.now = now;
    this.changedAt = now();
    this.onChange = onChange;
  }

  get state(): TaskState {
    return this.machine.state;
  }

  /** Moves to `next`; an illegal transition throws (a bug in the caller, never a runtime fault). */
  to(next: TaskState, reason?: string): void {
    if (next === this.machine.state && next !== 'closed') {
      this.why = reason;
      return;
    }
    this.machine.to(next);
    this.why = next === 'suspended' || next === 'corrupted' ? reason : undefined;
    this.changedAt = this.now();
    if (next === 'restoring') this.restored = { done: 0, total: 0 };
    this.onChange();
  }

  /** Progress of the restore under way (records replayed from the changelog). */
  restoreProgress(done: number, total: number): void {
    this.restored = { done, total };
  }

  status(): TaskStatus {
    return {
      partition: this.partition,
      state: this.machine.state,
      reason: this.why,
      since: this.changedAt,
      restoreDone: this.restored.done,
      restoreTotal: this.restored.total,
      attempt: this.attempt,
      ...(this.inputReset ? { inputReset: this.inputReset } : {}),
    };
  }
}
