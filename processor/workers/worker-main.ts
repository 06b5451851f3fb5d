/**
 * A processor worker thread: its own runtime (Kafka clients, registry, metrics, global tables)
 * and, while the main thread says so, the active side of the instance for the partitions it is
 * given (active.ts, unchanged: tasks, their stores and transactional producers live here). It
 * holds no lease: `canCommit` reads the main thread's deadline from shared memory
 * (lease-cells.ts). An uncaught error ends the thread, and the main thread then stops the
 * instance; a fatal task error is reported as `fatal` for the same end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../common/clock.ts';
import { saveCompileCacheSoon } from '../../common/compile-cache.ts';
import { createLogger } from '../../common/log.ts';
import { type ActiveProcessing, startAssignedProcessing, startGroupProcessing } from '../active.ts';
import { prepareRuntime } from '../runtime.ts';
import { leaseFromCell } from './lease-cells.ts';
import type {
  WorkerInit,
  WorkerMessage,
  WorkerRequest,
  WorkerRequestMessage,
  WorkerSnapshot,
} from './messages.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (message: WorkerMessage) => port.postMessage(message);
const asError = (error: unknown) => ({
  message: (error as Error)?.message ?? String(error),
  stack: (error as Error)?.stack,
});
/** Buffers arrive as plain Uint8Arrays (structured clone). */
const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const logger = createLogger({ name: 'sluice-processor', level: init.logLevel }).child({
  worker: init.workerId,
});
const runtime = await prepareRuntime(init.loaded, logger, { inWorker: true });
const clock = systemClock;
let active: ActiveProcessing | undefined;
const onFatalError = (error: unknown) => send({ type: 'fatal', error: asError(error) });

const snapshot = (processing: ActiveProcessing): WorkerSnapshot => {
  const { manager } = processing;
  const now = clock.now();
  const failing = manager.failingSince();
  const fetched = processing.lastFetchAt();
  return {
    owned: manager.owned(),
    running: manager.running(),
    paused: manager.paused(),
    statuses: manager.statuses().map(({ since, ...status }) => ({ ...status, sinceAgoMs: now - since })),
    failingAgoMs: failing === undefined ? undefined : now - failing,
    restoring: manager.restoring(),
    lastFetchAgoMs: fetched === undefined ? undefined : now - fetched,
  };
};
// the main thread answers readiness and progress checks from these
const pushTimer = clock.every(50, () => {
  if (active) send({ type: 'snapshot', snapshot: snapshot(active) });
});

const noTask = (partition: number, name: string) =>
  new Error(`partition ${partition} has no running task with ${name} in worker ${init.workerId}`);
const storeOf = (partition: number, name: string) => {
  const store = active?.manager.storeFor(partition, name);
  if (!store) throw noTask(partition, `store ${name}`);
  return store;
};

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.type) {
    case 'start':
      active ??=
        request.mode === 'group'
          ? await startGroupProcessing(runtime, { onFatalError })
          : await startAssignedProcessing(runtime, {
              clock,
              onFatalError,
              onFirstCommit: (partition, ms) => logger.info({ partition, ms }, 'takeover step: first commit'),
            });
      return undefined;
    case 'own':
      if (!active) throw new Error('own before start');
      active.own(
        request.partitions,
        leaseFromCell(init.leaseCells, request.cell, request.epoch, (cell) =>
          send({ type: 'reconfirm', cell }),
        ),
      );
      return undefined;
    case 'disown':
      await active?.disown(request.partitions, { commit: request.commit });
      return undefined;
    case 'stop': {
      const stopping = active;
      active = undefined;
      await stopping?.stop({ commit: request.commit });
      return undefined;
    }
    case 'store-get':
      return storeOf(request.partition, request.store).getMany(request.keys.map(toBuffer));
    case 'store-range': {
      const entries: [Buffer, Buffer][] = [];
      const { gte, lt } = request;
      for await (const entry of storeOf(request.partition, request.store).range({
        gte: gte && toBuffer(gte),
        lt: lt && toBuffer(lt),
      }))
        entries.push(entry);
      return entries;
    }
    case 'table-rows': {
      const table = active?.manager.tableFor(request.partition, request.table);
      if (!table) throw noTask(request.partition, `table ${request.table}`);
      // an undecodable version is an Error: sent as its message, made an Error again by remoteTable
      return (await table.rowsAsOf(request.lookups)).map((row) =>
        row instanceof Error ? { undecodable: row.message } : { row },
      );
    }
    case 'metrics':
      return runtime.metricsRegistry.getMetricsAsJSON();
    case 'close': {
      pushTimer.cancel();
      const stopping = active;
      active = undefined;
      await stopping?.stop({ commit: false });
      await runtime.close();
      setImmediate(() => port.close());
      return undefined;
    }
  }
}

port.on('message', (message: WorkerRequestMessage) => {
  handle(message).then(
    (value) => send({ type: 'reply', id: message.id, ok: true, value }),
    (error) => send({ type: 'reply', id: message.id, ok: false, error: asError(error) }),
  );
});
send({ type: 'ready' });
saveCompileCacheSoon();
