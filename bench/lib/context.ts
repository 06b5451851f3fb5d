/** What every workload gets from the bench runner. */
import type { BenchServices } from './env.ts';

export interface BenchContext {
  services: BenchServices;
  /** Smaller inputs and fewer runs, for development (the whole run under 3 minutes). */
  quick: boolean;
  log(message: string): void;
}
