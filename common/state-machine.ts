/**
 * A finite state machine from a transition table, the shape every lifecycle in sluice has
 * (slot roles, leases, tasks): moving along an edge the table does not list throws, because that
 * is a bug in the caller, never a runtime fault.
 */

/** For each state, the states it may move to. */
export type Transitions<S extends string> = Readonly<Record<S, readonly S[]>>;

export interface StateMachine<S extends string> {
  readonly state: S;
  /** Moves to `next` and returns the state it left; an edge not in the table throws. */
  to(next: S): S;
}

export function createStateMachine<S extends string>(
  /** Names the machine in the error (e.g. "lease 3", "task 0_2"). */
  name: string,
  transitions: Transitions<S>,
  initial: S,
): StateMachine<S> {
  let current = initial;
  return {
    get state() {
      return current;
    },
    to(next) {
      if (!transitions[current].includes(next))
        throw new Error(`${name}: illegal transition ${current} → ${next}`);
      const left = current;
      current = next;
      return left;
    },
  };
}
