import type { KeyValueStore } from '../../../processor/state/store.ts';

/** A sorted in-memory KeyValueStore: the operator's logic is pure once its store is. */
export function memoryStore(): KeyValueStore {
  const data = new Map<string, Buffer>();
  return {
    path: 'memory',
    get: async (key) => data.get(key.toString('latin1')),
    getMany: async (keys) => keys.map((key) => data.get(key.toString('latin1'))),
    async write(changes) {
      for (const [key, value] of changes.puts) data.set(key.toString('latin1'), value);
      for (const key of changes.deletes) data.delete(key.toString('latin1'));
    },
    changelogPosition: async () => '0',
    async *range(bounds) {
      const keys = [...data.keys()].map((k) => Buffer.from(k, 'latin1')).sort(Buffer.compare);
      for (const key of keys) {
        if (bounds.gte && Buffer.compare(key, bounds.gte) < 0) continue;
        if (bounds.lt && Buffer.compare(key, bounds.lt) >= 0) continue;
        yield [key, data.get(key.toString('latin1'))!];
      }
    },
    close: async () => undefined,
  };
}
