/**
 * A running task's committed stores and table partitions in a worker thread, seen from the main
 * thread for state queries: reads go to the worker as messages. Only reads: the task alone writes.
 */
import type { KeyValueStore } from '../state/store.ts';
import type { TableRows } from '../tables/partitioned-table.ts';
import type { PooledWorker } from './worker-pool.ts';

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function remoteStore(worker: PooledWorker, partition: number, store: string): KeyValueStore {
  const readOnly = () => Promise.reject(new Error('a remote store is read-only'));
  const getMany = async (keys: readonly Buffer[]) =>
    (
      await worker.request<(Uint8Array | undefined)[]>({
        type: 'store-get',
        partition,
        store,
        keys: [...keys],
      })
    ).map((value) => value && toBuffer(value));
  return {
    path: `worker ${worker.id} partition ${partition} store ${store}`,
    getMany,
    get: async (key) => (await getMany([key]))[0],
    async *range({ gte, lt }) {
      const entries = await worker.request<[Uint8Array, Uint8Array][]>({
        type: 'store-range',
        partition,
        store,
        gte,
        lt,
      });
      for (const [key, value] of entries) yield [toBuffer(key), toBuffer(value)];
    },
    write: readOnly,
    changelogPosition: () => readOnly(),
    close: async () => undefined,
  };
}

/** A running task's partition of a partitioned table in a worker thread, for state queries. */
export function remoteTable(worker: PooledWorker, partition: number, table: string): TableRows {
  return {
    async rowsAsOf(lookups) {
      const rows = await worker.request<({ row: unknown } | { undecodable: string })[]>({
        type: 'table-rows',
        partition,
        table,
        lookups: [...lookups],
      });
      return rows.map((entry) => ('undecodable' in entry ? new Error(entry.undecodable) : entry.row));
    },
  };
}
