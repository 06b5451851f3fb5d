/**
 * KeyValueStore on RocksDB (the `@nxtedition/rocksdb` binding: maintained, with prebuilt binaries
 * that load in both Debian's and the official Node.js builds). Data keys live under prefix 0x01 and
 * metadata under 0x00, so no user key can overwrite the changelog position.
 *
 * The store refuses every call after close() with STORE_CLOSED (the old binding crashed the
 * process on a write to a closed database; a clear error is the contract either way), and close()
 * waits for the operations already started and ends ranges left open.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SluiceError, TaskCorruptedError } from '../../common/errors.ts';
import type { KeyValueStore, StoreChanges } from './store.ts';

/** The part of the binding's (abstract-level 1) promise API that we use, with buffer encodings. */
interface RocksLevel {
  open(options: { createIfMissing: boolean }): Promise<void>;
  close(): Promise<void>;
  get(key: Buffer): Promise<Buffer>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  /** A chained batch: one native call per operation (faster than an array of operation objects). */
  batch(): { put(key: Buffer, value: Buffer): void; del(key: Buffer): void; write(): Promise<void> };
  iterator(options: { gte: Buffer; lt: Buffer }): {
    next(): Promise<[Buffer, Buffer] | undefined>;
    close(): Promise<void>;
  };
}

const require = createRequire(import.meta.url);
// loaded on first use, not at import: every `sluice` subcommand imports this module, and only
// processors with a store need the native binding
let binding: (new (location: string, options: Record<string, string>) => RocksLevel) | undefined;
const rocksLevel = (location: string): RocksLevel => {
  binding ??= (require('@nxtedition/rocksdb') as { RocksLevel: NonNullable<typeof binding> }).RocksLevel;
  return new binding(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
};

const DATA = 0x01;
const POSITION_KEY = Buffer.from([0x00, ...Buffer.from('changelog-position')]);

function dataKey(key: Buffer): Buffer {
  const prefixed = Buffer.allocUnsafe(key.length + 1);
  prefixed[0] = DATA;
  key.copy(prefixed, 1);
  return prefixed;
}
const isNotFound = (error: unknown) => (error as { code?: string }).code === 'LEVEL_NOT_FOUND';

/** The messages of an error and its causes (abstract-level wraps RocksDB's own). */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let current = error as { message?: string; cause?: unknown } | undefined; current; ) {
    parts.push(current.message ?? '');
    current = current.cause as typeof current;
  }
  return parts.join(': ');
}

export async function openRocksDbStore(path: string): Promise<KeyValueStore> {
  mkdirSync(path, { recursive: true });
  const db = rocksLevel(path);
  try {
    await db.open({ createIfMissing: true });
  } catch (error) {
    const message = messages(error);
    if (/lock hold by current process/i.test(message)) {
      throw new SluiceError(
        'STORE_IN_USE',
        `the store ${path} is still open in this process (a previous task or standby for the partition has not closed it yet)`,
        { cause: error },
      );
    }
    if (/lock/i.test(message)) {
      throw new SluiceError(
        'STORE_IN_USE',
        `the store ${path} is open in another process (RocksDB holds its LOCK): stop that instance first, or use another state directory`,
        { cause: error },
      );
    }
    throw error;
  }

  let closing: Promise<void> | undefined;
  const openIterators = new Set<() => Promise<void>>();
  const inFlight = new Set<Promise<unknown>>();
  /** Runs one native operation, unless the store is closed; close() waits for those started. */
  const guarded = <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    if (closing) {
      return Promise.reject(new SluiceError('STORE_CLOSED', `cannot ${what}: the store ${path} is closed`));
    }
    // a native failure other than "not found" means the files cannot be trusted: rebuild them
    const running = operation().catch((error: unknown) => {
      if (isNotFound(error)) throw error;
      throw new TaskCorruptedError(`RocksDB ${what} failed in ${path}`, { cause: error });
    });
    inFlight.add(running);
    const forget = () => inFlight.delete(running);
    running.then(forget, forget);
    return running;
  };

  return {
    path,
    async get(key) {
      try {
        return await guarded('read', () => db.get(dataKey(key)));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return guarded('read', () => db.getMany(keys.map(dataKey)));
    },
    write(changes: StoreChanges, changelogPosition: string) {
      return guarded('write', () => {
        const batch = db.batch();
        for (const [key, value] of changes.puts) batch.put(dataKey(key), value);
        for (const key of changes.deletes) batch.del(dataKey(key));
        batch.put(POSITION_KEY, Buffer.from(changelogPosition));
        return batch.write();
      });
    },
    async changelogPosition() {
      try {
        const raw = await guarded('read', () => db.get(POSITION_KEY));
        const text = raw.toString('utf8');
        return /^\d{1,19}$/.test(text) ? text : undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async *range(bounds) {
      if (closing) throw new SluiceError('STORE_CLOSED', `cannot read: the store ${path} is closed`);
      const iterator = db.iterator({
        gte: bounds.gte ? dataKey(bounds.gte) : Buffer.of(DATA),
        lt: bounds.lt ? dataKey(bounds.lt) : Buffer.of(DATA + 1),
      });
      // close() ends iterators still open (an abandoned range), so each is ended exactly once
      const end = () => {
        if (!openIterators.delete(end)) return Promise.resolve();
        return iterator.close();
      };
      openIterators.add(end);
      try {
        for (;;) {
          const entry = await guarded('read', () => iterator.next());
          if (!entry) return;
          yield [entry[0].subarray(1), entry[1]];
        }
      } finally {
        await end();
      }
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        await Promise.allSettled([...openIterators].map((endIterator) => endIterator()));
        await db.close();
      })();
      return closing;
    },
  };
}

/** Removes a store's directory (the store must be closed). */
export function destroyStore(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
