/**
 * A running task's committed store in a worker thread, seen from the main thread for state
 * queries: reads go to the worker as messages. Only reads: the task alone writes its store.
 */
import type { KeyValueStore } from '../state/store.ts';
import type { PooledWorker } from './worker-pool.ts';

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function remoteStore(worker: PooledWorker, partition: number): KeyValueStore {
  const readOnly = () => Promise.reject(new Error('a remote store is read-only'));
  const getMany = async (keys: readonly Buffer[]) =>
    (await worker.request<(Uint8Array | undefined)[]>({ type: 'store-get', partition, keys: [...keys] })).map(
      (value) => value && toBuffer(value),
    );
  return {
    path: `worker ${worker.id} partition ${partition}`,
    getMany,
    get: async (key) => (await getMany([key]))[0],
    async *range({ gte, lt }) {
      const entries = await worker.request<[Uint8Array, Uint8Array][]>({
        type: 'store-range',
        partition,
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
