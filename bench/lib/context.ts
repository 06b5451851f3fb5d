/** What every workload gets from the bench runner. */
import type { BenchServices } from './env.ts';
import type { MachineLoad } from './load-gate.ts';

export interface BenchContext {
  services: BenchServices;
  /**
   * Smaller inputs and one run each, for development: figures are printed without ratios (at
   * that size start-up and warm-up weigh too much for a comparison to mean anything).
   */
  quick: boolean;
  /**
   * Worker threads of a sluice processor (processor.workers) and, like for like, stream threads of
   * the Kafka Streams peers. @default the cores available
   */
  workers: number;
  /** Leave out the Kafka Streams DSL peer (aggregation): a shorter run when the bench lock is scarce. */
  withoutDsl: boolean;
  /**
   * The guarantees the drain workloads run (`--guarantees`; both by default), so each
   * half of a long workload fits in one hold of the bench lock.
   */
  guarantees: readonly ('exactly_once' | 'at_least_once')[];
  /**
   * Another sluice checkout (`--baseline DIR`, e.g. a worktree at an older commit): the
   * aggregation workload then runs this tree's processor against that one, both on one thread,
   * instead of against the peers — a before/after of the task loop in one run.
   */
  baseline?: string;
  log(message: string): void;
  /**
   * Waits for a quiet machine before a timed run and returns the load it starts at (recorded
   * with the run); throws when the machine stays busy (the run is refused).
   */
  gate(what: string): Promise<MachineLoad>;
}
