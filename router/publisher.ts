/**
 * Micro-batching: concurrent requests share produce batches. A batch closes at `maxRecords`,
 * `maxBytes` or after `lingerMs`; each producer sends one batch at a time (an idempotent kafkajs
 * producer has one request in flight per broker anyway) and requests arriving meanwhile join the
 * next batch. Bytes
 * accepted but not yet acknowledged are bounded: past `maxInFlightBytes` a request is refused at
 * once (503) instead of queueing without limit. A request resolves only when Kafka acknowledged
 * (acks=all) every one of its records, with each record's partition and offset, or fails by
 * `deadlineMs` after it arrived, waiting included (503): a request still queued then is dropped
 * (nothing of it is written); one already sent may still be written, so clients retry with the
 * same event ids.
 */
import type { KafkaProducer, OutgoingRecord } from '../common/kafka/index.ts';
import { RequestProblem } from './problems.ts';

export interface Placement {
  partition: number;
  offset: string;
}

export interface PublisherOptions {
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
  maxInFlightBytes: number;
  /** The most a request waits for Kafka's acknowledgement, queueing and retries included. */
  deadlineMs: number;
  /** Called after each batch: its size in records and how long the send took. */
  onBatch?: (records: number, seconds: number) => void;
}

interface Pending {
  records: OutgoingRecord[];
  bytes: number;
  /** Settle once: the deadline may have answered already. */
  resolve: (placements: Placement[]) => void;
  reject: (error: unknown) => void;
}

export interface Publisher {
  /** Publishes records (with explicit partitions); rejects with 503 problems when it cannot. */
  publish(records: OutgoingRecord[], bytes: number): Promise<Placement[]>;
  inFlightBytes(): number;
  /** Resolves once everything accepted so far is acknowledged or failed. */
  drain(): Promise<void>;
}

export function createPublisher(producers: readonly KafkaProducer[], options: PublisherOptions): Publisher {
  const idle = [...producers];
  const queue: Pending[] = [];
  let queuedRecords = 0;
  let queuedBytes = 0;
  let inFlight = 0;
  let sending = 0;
  let timer: NodeJS.Timeout | undefined;
  const idleWaiters: (() => void)[] = [];

  const takeBatch = (): Pending[] => {
    const batch: Pending[] = [];
    let records = 0;
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (
        batch.length > 0 &&
        (records + next.records.length > options.maxRecords || bytes + next.bytes > options.maxBytes)
      ) {
        break;
      }
      batch.push(queue.shift()!);
      records += next.records.length;
      bytes += next.bytes;
    }
    queuedRecords -= records;
    queuedBytes -= bytes;
    return batch;
  };

  const send = async () => {
    if (idle.length === 0 || queue.length === 0) return;
    const producer = idle.pop()!;
    sending++;
    clearTimeout(timer);
    timer = undefined;
    const batch = takeBatch();
    const records = batch.flatMap((pending) => pending.records);
    const started = performance.now();
    try {
      const writes = await producer.send(records);
      options.onBatch?.(records.length, (performance.now() - started) / 1000);
      // each partition got runs of consecutive offsets, in the order the records were sent
      const runs = new Map<string, { next: bigint; left: number }[]>();
      for (const write of writes) {
        const id = `${write.topic}/${write.partition}`;
        runs.set(id, [...(runs.get(id) ?? []), { next: BigInt(write.baseOffset), left: write.count ?? 0 }]);
      }
      const placeOf = (record: OutgoingRecord): Placement => {
        const queue = runs.get(`${record.topic}/${record.partition}`) ?? [];
        while (queue.length > 0 && queue[0]!.left === 0) queue.shift();
        const run = queue[0];
        if (!run) return { partition: record.partition!, offset: '-1' };
        const offset = run.next;
        run.next += 1n;
        run.left -= 1;
        return { partition: record.partition!, offset: offset.toString() };
      };
      for (const pending of batch) pending.resolve(pending.records.map(placeOf));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      for (const pending of batch) inFlight -= pending.bytes;
      sending--;
      idle.push(producer);
      if (queue.length > 0) void send();
      else if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
    }
  };

  const schedule = () => {
    if (idle.length === 0) return; // a running send picks the queue up when it finishes
    if (queuedRecords >= options.maxRecords || queuedBytes >= options.maxBytes || options.lingerMs === 0) {
      void send();
    } else if (!timer) {
      timer = setTimeout(() => void send(), options.lingerMs);
    }
  };

  return {
    publish(records, bytes) {
      if (inFlight + bytes > options.maxInFlightBytes) {
        return Promise.reject(
          new RequestProblem(
            'ROUTER_OVERLOADED',
            `the router holds ${inFlight} bytes not yet acknowledged by Kafka (limit ${options.maxInFlightBytes}); retry shortly`,
            { retryAfterSeconds: 1 },
          ),
        );
      }
      inFlight += bytes;
      return new Promise((resolve, reject) => {
        let settled = false;
        const settle = () => {
          const first = !settled;
          settled = true;
          clearTimeout(deadline);
          return first;
        };
        const pending: Pending = {
          records,
          bytes,
          resolve: (placements) => settle() && resolve(placements),
          reject: (error) => settle() && reject(error),
        };
        const deadline = setTimeout(() => {
          const queued = queue.indexOf(pending);
          if (queued >= 0) {
            // never sent: take it out, so nothing of it is written
            queue.splice(queued, 1);
            queuedRecords -= records.length;
            queuedBytes -= bytes;
            inFlight -= bytes;
            if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
          }
          pending.reject(
            new RequestProblem(
              'ROUTER_NOT_ACKNOWLEDGED',
              queued >= 0
                ? `Kafka could not take the events within ${options.deadlineMs} ms; none of them was sent: retry`
                : `Kafka did not acknowledge the events within ${options.deadlineMs} ms; some may still be written: retry with the same event ids`,
              { retryAfterSeconds: 1 },
            ),
          );
        }, options.deadlineMs);
        queue.push(pending);
        queuedRecords += records.length;
        queuedBytes += bytes;
        schedule();
      });
    },
    inFlightBytes: () => inFlight,
    drain() {
      if (inFlight === 0) return Promise.resolve();
      if (sending === 0) void send();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
