/**
 * The contract every operator of a sub-topology implements, so the task loop never changes when
 * an operator is added. A task hands each operator the whole batch from its inputs at once
 * (operators run in the graph's order), which keeps one store read per stateful operator and batch:
 *
 *   open() once the store is restored → per batch: keysFor(items) (loaded in one read) →
 *   load(items) → process(items) → dueKeys(streamTime) (loaded) → loadDue(streamTime) →
 *   onStreamTime(streamTime, batchEnd)
 *
 * An operator with several inputs that must tell them apart (a stream–stream join) finds each
 * item's input in `side` (the index in its node's inputs).
 *
 * An operator never throws for one bad item: it dead-letters it through the context and goes on.
 */
import type { IncomingRecord, OutgoingRecord } from '../../common/kafka/index.ts';
import type { DeadLetterStage } from '../task/dead-letters.ts';

/**
 * What a dead letter keeps of an item that failed: the input record, or the emission that made it
 * (which has no record timestamp of its own).
 */
export type ItemOrigin = Pick<
  IncomingRecord,
  'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'
> &
  Partial<Pick<IncomingRecord, 'timestamp'>>;

/** One event flowing between the operators of a task. */
export interface Item {
  value: unknown;
  /** Event time (ms). */
  timestamp: number;
  /** The task's stream time when the input record behind this item was seen. */
  streamTime: number;
  /** The value that chose this item's partition (the input record's key), to check groupings that keep it. */
  partitionKey: string | undefined;
  origin: ItemOrigin;
  /** True when an aggregation emitted it: failures are dead-lettered as stage 'emit'. */
  derived: boolean;
  /** Set by a branch: the index of the arm that takes the item. */
  arm?: number;
  /** Set for a stream–stream join: which of its inputs the item comes from (0 left, 1 right). */
  side?: number;
}

export interface OperatorContext {
  deadLetter(origin: ItemOrigin, stage: DeadLetterStage, error: unknown): void;
  /** A record for Kafka, committed with the task's next transaction (sinks). */
  output(record: OutgoingRecord): void;
}

export interface Operator {
  /** After the store is restored: rebuild in-memory indexes from it. */
  open?(): Promise<void>;
  /** Store keys the items may touch; the task loads them in one read before `process`. */
  keysFor?(items: readonly Item[]): Buffer[];
  /** Reads what `process(items)` needs from outside the write cache (a partitioned table's rows). */
  load?(items: readonly Item[]): Promise<void>;
  /** The batch's items from the operator's inputs, in input order; returns what it passes on. */
  process(items: readonly Item[]): Item[];
  /** Store keys `onStreamTime(streamTime)` will read. */
  dueKeys?(streamTime: number): Buffer[];
  /** Reads what `onStreamTime(streamTime)` needs from stores of its own (a join's two sides). */
  loadDue?(streamTime: number): Promise<void>;
  /**
   * After each batch, with the task's stream time: what closes now (windows) and pending updates.
   * `batchEnd` is the batch's last input item, the place of emissions when none of the items reached this operator.
   */
  onStreamTime?(streamTime: number, batchEnd: Item): Item[];
}

/** Runs user code for one item; a throw is dead-lettered (and the item dropped). */
export function guarded<T>(context: OperatorContext, item: Item, what: string, work: () => T): T | undefined {
  try {
    return work();
  } catch (error) {
    context.deadLetter(item.origin, item.derived ? 'emit' : 'process', userCodeError(what, error));
    return undefined;
  }
}

export class UserCodeError extends Error {
  override readonly name = 'UserCodeError';
}

export function userCodeError(what: string, error: unknown): Error {
  if (error instanceof UserCodeError) return error;
  return new UserCodeError(`${what} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
