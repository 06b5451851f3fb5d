/**
 * The commit deadlines of the main thread's leases, shared with the worker threads so that a
 * task's `canCommit()` in a worker answers exactly as the lease itself would, without a round
 * trip. One cell (an Int64 in a SharedArrayBuffer) per lease in use: the main thread writes the
 * deadline on every renewal and state change (HeldLease.onChange), 0 once the lease is lost or
 * released; a worker compares it with the time now. Shared memory rather than messages because a
 * message arrives late: a worker would go on committing after the main thread learned the lease
 * was lost. The time is `process.hrtime` (CLOCK_MONOTONIC, the same in every thread), not
 * `performance.now()`, whose origin differs per thread.
 *
 * A task that Kafka fenced asks its lease to be reconfirmed (lease.ts `reconfirm`): no commit, and
 * no fencing back, until a renewal sent afterwards succeeds. A worker cannot wait for the main
 * thread's answer, so each cell has a generation beside its deadline: the worker stops at once and
 * waits for a generation above the one it saw; the main thread bumps it only once its lease can
 * commit again after the reconfirmation it asked for.
 */
import { systemClock } from '../../common/clock.ts';
import type { PartitionLease } from '../task/task-starter.ts';

/** Cells available: leases held at once by one instance (its own slot and borrowed ones). */
export const leaseCellCount = 256;

const nowNs = () => process.hrtime.bigint();

/** Deadlines in the first `leaseCellCount` Int64s, reconfirmation generations in the next. */
export function createLeaseCellBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * leaseCellCount * BigInt64Array.BYTES_PER_ELEMENT);
}

const generationOf = (cell: number) => leaseCellCount + cell;

/** The main thread's side: a cell per lease, kept up to date. */
export interface LeaseCells {
  /** The cell of `lease` (allocated and written on first use, then rewritten on each change). */
  cellOf(lease: PartitionLease): number;
  /** The cell is no longer read by any task: its lease may be forgotten. */
  free(lease: PartitionLease): void;
  /** A worker's task was fenced in Kafka: its lease must be confirmed again (then the generation moves). */
  reconfirm(cell: number): void;
}

export function createLeaseCells(buffer: SharedArrayBuffer, clock = systemClock): LeaseCells {
  const cells = new BigInt64Array(buffer);
  const used = new Map<PartitionLease, number>();
  const awaitingConfirmation = new Set<number>();
  const write = (lease: PartitionLease, cell: number) => {
    if (used.get(lease) !== cell) return; // freed (and maybe reused) since
    if (awaitingConfirmation.has(cell) && lease.canCommit()) {
      awaitingConfirmation.delete(cell);
      Atomics.add(cells, generationOf(cell), 1n);
    }
    const deadline = lease.commitDeadline!();
    // the lease's deadline is on its clock (performance.now()); moved onto the shared one
    const value =
      deadline === Number.NEGATIVE_INFINITY || !lease.canCommit()
        ? 0n
        : nowNs() + BigInt(Math.floor((deadline - clock.now()) * 1e6));
    Atomics.store(cells, cell, value);
  };
  return {
    cellOf(lease) {
      const known = used.get(lease);
      if (known !== undefined) return known;
      if (!lease.commitDeadline || !lease.onChange)
        throw new Error('a lease given to worker threads must expose its commit deadline');
      const taken = new Set(used.values());
      const cell = Array.from({ length: leaseCellCount }, (_, index) => index).find(
        (index) => !taken.has(index),
      );
      if (cell === undefined) throw new Error(`more than ${leaseCellCount} leases in use at once`);
      used.set(lease, cell);
      write(lease, cell);
      lease.onChange(() => write(lease, cell));
      return cell;
    },
    free(lease) {
      const cell = used.get(lease);
      if (cell === undefined) return;
      used.delete(lease);
      awaitingConfirmation.delete(cell);
      Atomics.store(cells, cell, 0n);
    },
    reconfirm(cell) {
      const lease = [...used].find(([, each]) => each === cell)?.[0];
      if (!lease?.reconfirm) return; // freed since: the worker's tasks were stopped with it
      awaitingConfirmation.add(cell);
      lease.reconfirm();
    },
  };
}

/** The worker's side: a lease that reads its deadline (and reconfirmation) from the shared cell. */
export function leaseFromCell(
  buffer: SharedArrayBuffer,
  cell: number,
  epoch: number,
  askReconfirm: (cell: number) => void,
): PartitionLease {
  const cells = new BigInt64Array(buffer);
  let awaitedGeneration = 0n;
  return {
    epoch: () => epoch,
    canCommit: () =>
      nowNs() < Atomics.load(cells, cell) && Atomics.load(cells, generationOf(cell)) >= awaitedGeneration,
    reconfirm() {
      awaitedGeneration = Atomics.load(cells, generationOf(cell)) + 1n;
      askReconfirm(cell);
    },
  };
}
