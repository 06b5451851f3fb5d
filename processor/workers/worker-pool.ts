/**
 * The main thread's handle on the worker threads: starts them (each prepares its own runtime),
 * sends requests and matches replies, keeps each worker's latest task snapshot, and turns any
 * worker failure (an uncaught error, an unexpected exit, a fatal task error) into the instance's
 * fatal error: an instance never runs on silently with fewer tasks.
 */
import { Worker } from 'node:worker_threads';
import type { LoadedConfig } from '../../common/config/load.ts';
import type { Logger, LogLevel } from '../../common/log.ts';
import { createLeaseCellBuffer, createLeaseCells, type LeaseCells } from './lease-cells.ts';
import type { WorkerInit, WorkerMessage, WorkerMetrics, WorkerRequest, WorkerSnapshot } from './messages.ts';

export interface PooledWorker {
  readonly id: number;
  request<T = unknown>(request: WorkerRequest): Promise<T>;
  /** The latest snapshot, when (performance.now()) it came and its number; undefined before the first. */
  snapshot(): ReceivedSnapshot | undefined;
  /** The number of snapshots received so far: one with a higher number reflects every request answered before. */
  snapshotsReceived(): number;
  /** Forgets the snapshot (after the worker's active side stopped). */
  clearSnapshot(): void;
}

export interface ReceivedSnapshot {
  snapshot: WorkerSnapshot;
  at: number;
  seq: number;
}

export interface WorkerPool {
  readonly workers: readonly PooledWorker[];
  /** The main thread's side of the shared lease deadlines. */
  readonly leaseCells: LeaseCells;
  /** Every worker's metrics, to be aggregated with the main thread's. */
  metrics(): Promise<WorkerMetrics[]>;
  /** Ends every worker (after their active sides stopped). */
  close(): Promise<void>;
}

/**
 * A source file runs in the worker as in the main thread (worker-from-source.js loads
 * worker-main.ts as bin/sluice.js loads the CLI: stripped by Node, or through tsx); the built
 * package runs JavaScript.
 */
function workerEntry(): { url: URL; argv: string[] } {
  if (!import.meta.url.endsWith('.ts'))
    return { url: new URL('./worker-main.js', import.meta.url), argv: [] };
  return {
    url: new URL('./worker-from-source.js', import.meta.url),
    argv: [new URL('./worker-main.ts', import.meta.url).href],
  };
}

/** How long a worker may take to close its clients before it is terminated. */
const closeBoundMs = 10_000;

export async function startWorkerPool(options: {
  count: number;
  loaded: LoadedConfig;
  logLevel: LogLevel;
  logger: Logger;
  onFatalError(error: unknown): void;
}): Promise<WorkerPool> {
  const { logger } = options;
  const leaseBuffer = createLeaseCellBuffer();
  const leaseCells = createLeaseCells(leaseBuffer);
  const entry = workerEntry();
  let closing = false;

  const startOne = (id: number): Promise<PooledWorker & { thread: Worker }> =>
    new Promise((resolve, reject) => {
      const init: WorkerInit = {
        workerId: id,
        loaded: options.loaded,
        logLevel: options.logLevel,
        leaseCells: leaseBuffer,
      };
      const thread = new Worker(entry.url, { workerData: init, argv: entry.argv });
      const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
      let nextId = 0;
      let latest: ReceivedSnapshot | undefined;
      let received = 0;
      let ready = false;
      const fail = (error: Error) => {
        for (const waiting of pending.values()) waiting.reject(error);
        pending.clear();
        if (!ready) return reject(error);
        if (closing) return;
        logger.fatal({ worker: id, err: error }, 'a worker thread failed: the instance stops');
        options.onFatalError(error);
      };
      const worker: PooledWorker & { thread: Worker } = {
        id,
        thread,
        request<T>(request: WorkerRequest) {
          const messageId = nextId++;
          return new Promise<T>((resolveReply, rejectReply) => {
            pending.set(messageId, {
              resolve: resolveReply as (value: unknown) => void,
              reject: rejectReply,
            });
            thread.postMessage({ ...request, id: messageId });
          });
        },
        snapshot: () => latest,
        snapshotsReceived: () => received,
        clearSnapshot: () => {
          latest = undefined;
        },
      };
      thread.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            resolve(worker);
            return;
          case 'snapshot':
            received += 1;
            latest = { snapshot: message.snapshot, at: performance.now(), seq: received };
            return;
          case 'reconfirm':
            return leaseCells.reconfirm(message.cell);
          case 'fatal':
            return fail(Object.assign(new Error(message.error.message), { stack: message.error.stack }));
          case 'reply': {
            const waiting = pending.get(message.id);
            pending.delete(message.id);
            if (message.ok) waiting?.resolve(message.value);
            else
              waiting?.reject(
                Object.assign(new Error(message.error.message), { stack: message.error.stack }),
              );
            return;
          }
        }
      });
      thread.on('error', (error) => fail(error));
      thread.on('messageerror', (error) => fail(error));
      thread.on('exit', (code) => {
        if (!closing || pending.size > 0) fail(new Error(`worker thread ${id} exited (code ${code})`));
      });
    });

  const settled = await Promise.allSettled(Array.from({ length: options.count }, (_, id) => startOne(id)));
  const workers = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  const closeAll = async () => {
    closing = true;
    await Promise.all(
      workers.map(async (worker) => {
        const bound = setTimeout(() => void worker.thread.terminate(), closeBoundMs);
        await worker.request({ type: 'close' }).catch(() => undefined);
        await worker.thread.terminate();
        clearTimeout(bound);
      }),
    );
  };
  if (failed) {
    await closeAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  logger.info({ workers: workers.length }, 'worker threads ready');
  return {
    workers,
    leaseCells,
    metrics: () => Promise.all(workers.map((worker) => worker.request<WorkerMetrics>({ type: 'metrics' }))),
    close: closeAll,
  };
}
