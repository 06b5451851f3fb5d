/**
 * KeyValueStore on RocksDB (the `rocksdb` binding). Data keys live under prefix 0x01 and
 * metadata under 0x00, so no user key can overwrite the changelog position.
 *
 * The binding crashes the process (SIGSEGV) on an operation against a closed database, so the
 * store refuses every call after close() with STORE_CLOSED, and close() waits for the operations
 * already started.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SluiceError, TaskCorruptedError } from '../../common/errors.ts';
import type { KeyValueStore, StoreChanges } from './store.ts';

type Callback<T = void> = (error: Error | undefined | null, value: T) => void;

/** The part of the binding's (abstract-leveldown) API that we use. */
interface RocksDbBinding {
  open(options: Record<string, unknown>, callback: Callback): void;
  close(callback: Callback): void;
  get(key: Buffer, options: { asBuffer: true }, callback: Callback<Buffer>): void;
  getMany(keys: Buffer[], options: { asBuffer: true }, callback: Callback<(Buffer | undefined)[]>): void;
  /** A chained batch: one native call per operation (faster than an array of operation objects). */
  batch(): {
    put(key: Buffer, value: Buffer): void;
    del(key: Buffer): void;
    write(callback: Callback): void;
  };
  iterator(options: Record<string, unknown>): {
    next(callback: (error: Error | undefined, key?: Buffer, value?: Buffer) => void): void;
    end(callback: Callback): void;
  };
}

const require = createRequire(import.meta.url);
const rocksdb = require('rocksdb') as (location: string) => RocksDbBinding;

const DATA = 0x01;
const POSITION_KEY = Buffer.from([0x00, ...Buffer.from('changelog-position')]);

function promised<T>(call: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value))));
}

function dataKey(key: Buffer): Buffer {
  const prefixed = Buffer.allocUnsafe(key.length + 1);
  prefixed[0] = DATA;
  key.copy(prefixed, 1);
  return prefixed;
}
const isNotFound = (error: unknown) => /NotFound/i.test((error as Error).message ?? '');

export async function openRocksDbStore(path: string): Promise<KeyValueStore> {
  mkdirSync(path, { recursive: true });
  const db = rocksdb(path);
  try {
    await promised((callback) => db.open({ createIfMissing: true }, callback));
  } catch (error) {
    const message = (error as Error).message;
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
        return await guarded('read', () =>
          promised<Buffer>((callback) => db.get(dataKey(key), { asBuffer: true }, callback)),
        );
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return guarded('read', () =>
        promised((callback) => db.getMany(keys.map(dataKey), { asBuffer: true }, callback)),
      );
    },
    write(changes: StoreChanges, changelogPosition: string) {
      return guarded('write', () => {
        const batch = db.batch();
        for (const [key, value] of changes.puts) batch.put(dataKey(key), value);
        for (const key of changes.deletes) batch.del(dataKey(key));
        batch.put(POSITION_KEY, Buffer.from(changelogPosition));
        return promised((callback) => batch.write(callback));
      });
    },
    async changelogPosition() {
      try {
        const raw = await guarded('read', () =>
          promised<Buffer>((callback) => db.get(POSITION_KEY, { asBuffer: true }, callback)),
        );
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
        keyAsBuffer: true,
        valueAsBuffer: true,
      });
      // close() ends iterators still open (an abandoned range), so each is ended exactly once
      const end = () => {
        if (!openIterators.delete(end)) return Promise.resolve();
        return promised<void>((callback) => iterator.end(callback));
      };
      openIterators.add(end);
      try {
        for (;;) {
          const entry = await guarded(
            'read',
            () =>
              new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
                iterator.next((error, key, value) => {
                  if (error) reject(error);
                  else resolve(key === undefined ? undefined : [key.subarray(1), value as Buffer]);
                }),
              ),
          );
          if (!entry) return;
          yield entry;
        }
      } finally {
        await end();
      }
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        await Promise.allSettled([...openIterators].map((endIterator) => endIterator()));
        await promised((callback) => db.close(callback));
      })();
      return closing;
    },
  };
}

/** Removes a store's directory (the store must be closed). */
export function destroyStore(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
