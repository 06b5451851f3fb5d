/**
 * A KeyValueStore in memory, for unit tests of the task and its commit: it honours the same
 * contract as the RocksDB store (the data and the changelog position it reflects change in one
 * atomic write; a closed store refuses every call with STORE_CLOSED), without native code or disk.
 */
import { SluiceError } from '../../common/errors.ts';
import type { KeyValueStore } from './store.ts';

export interface MemoryStore extends KeyValueStore {
  /** Every write so far, in order: what a test checks the commit order against. */
  readonly writes: { keys: number; changelogPosition: string }[];
  readonly closed: boolean;
}

export function createMemoryStore(path = 'memory'): MemoryStore {
  const data = new Map<string, Buffer>();
  let position: string | undefined;
  let closed = false;
  const writes: MemoryStore['writes'] = [];
  const open = (what: string) => {
    if (closed) throw new SluiceError('STORE_CLOSED', `cannot ${what}: the store ${path} is closed`);
  };
  const id = (key: Buffer) => key.toString('latin1');
  return {
    path,
    writes,
    get closed() {
      return closed;
    },
    async get(key) {
      open('read');
      return data.get(id(key));
    },
    async getMany(keys) {
      open('read');
      return keys.map((key) => data.get(id(key)));
    },
    async write(changes, changelogPosition) {
      open('write');
      // all or nothing, like a RocksDB write batch
      for (const [key, value] of changes.puts) data.set(id(key), value);
      for (const key of changes.deletes) data.delete(id(key));
      position = changelogPosition;
      writes.push({ keys: changes.puts.length + changes.deletes.length, changelogPosition });
    },
    async changelogPosition() {
      open('read');
      return position;
    },
    async *range(bounds) {
      open('read');
      const keys = [...data.keys()].map((key) => Buffer.from(key, 'latin1')).sort(Buffer.compare);
      for (const key of keys) {
        if (bounds.gte && Buffer.compare(key, bounds.gte) < 0) continue;
        if (bounds.lt && Buffer.compare(key, bounds.lt) >= 0) continue;
        const value = data.get(id(key));
        if (value) yield [key, value];
      }
    },
    async close() {
      closed = true;
    },
  };
}
