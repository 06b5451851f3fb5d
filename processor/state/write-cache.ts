/**
 * The in-memory front of a store: reads load from RocksDB once, writes stay here until the commit
 * that makes them durable in Kafka, then go to RocksDB in one batch with the changelog position.
 * Uncommitted changes never reach RocksDB (invariant 5); a failed commit drops them.
 */
import type { KeyValueStore } from './store.ts';

export interface ValueCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

interface Entry<V> {
  key: Buffer;
  /** undefined: absent (never written, or deleted) */
  value: V | undefined;
  dirty: boolean;
}

export interface Change {
  key: Buffer;
  /** null deletes (a tombstone in the changelog). */
  value: Buffer | null;
}

export class WriteCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly store: KeyValueStore;
  private readonly codec: ValueCodec<V>;
  private readonly maxEntries: number;

  constructor(store: KeyValueStore, codec: ValueCodec<V>, maxEntries: number) {
    this.store = store;
    this.codec = codec;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Makes sure these keys are in memory (one multi-get for those that are not). */
  async load(keys: readonly Buffer[]): Promise<void> {
    const missing: Buffer[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      const id = key.toString('latin1');
      if (!this.entries.has(id) && !seen.has(id)) {
        seen.add(id);
        missing.push(key);
      }
    }
    if (missing.length === 0) return;
    const values = await this.store.getMany(missing);
    missing.forEach((key, index) => {
      const bytes = values[index];
      this.entries.set(key.toString('latin1'), {
        key,
        value: bytes === undefined ? undefined : this.codec.decode(bytes),
        dirty: false,
      });
    });
  }

  /** The value of a loaded key; throws for a key that was not loaded, which is a bug. */
  get(key: Buffer): V | undefined {
    const entry = this.entries.get(key.toString('latin1'));
    if (!entry) throw new Error('write cache: key read before it was loaded');
    return entry.value;
  }

  set(key: Buffer, value: V): void {
    this.entries.set(key.toString('latin1'), { key, value, dirty: true });
  }

  delete(key: Buffer): void {
    this.entries.set(key.toString('latin1'), { key, value: undefined, dirty: true });
  }

  hasChanges(): boolean {
    for (const entry of this.entries.values()) if (entry.dirty) return true;
    return false;
  }

  /** Every uncommitted change, encoded, for the changelog and the store. */
  changes(): Change[] {
    const changes: Change[] = [];
    for (const entry of this.entries.values()) {
      if (entry.dirty) {
        changes.push({
          key: entry.key,
          value: entry.value === undefined ? null : this.codec.encode(entry.value),
        });
      }
    }
    return changes;
  }

  /** After the commit: writes `changes` and the changelog position in one RocksDB batch. */
  async flush(changes: readonly Change[], changelogPosition: string): Promise<void> {
    await this.store.write(
      {
        puts: changes
          .filter((change) => change.value !== null)
          .map((change) => [change.key, change.value!] as const),
        deletes: changes.filter((change) => change.value === null).map((change) => change.key),
      },
      changelogPosition,
    );
    for (const change of changes) {
      const entry = this.entries.get(change.key.toString('latin1'));
      if (entry) entry.dirty = false;
    }
    this.evict();
  }

  /** Forgets uncommitted changes (a failed or aborted commit): the next read loads from RocksDB. */
  discardChanges(): void {
    for (const [id, entry] of this.entries) if (entry.dirty) this.entries.delete(id);
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    const target = Math.floor(this.maxEntries * 0.9);
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= target) break;
      if (!entry.dirty) this.entries.delete(id);
    }
  }
}

export const jsonCodec = <V>(): ValueCodec<V> => ({
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (bytes) => JSON.parse(bytes.toString('utf8')) as V,
});
