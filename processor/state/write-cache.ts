/**
 * The in-memory front of a store: reads load from RocksDB once, writes stay here until the commit
 * that makes them durable in Kafka, then go to RocksDB in one batch with the changelog position.
 * Uncommitted changes never reach RocksDB (invariant 5); a failed commit drops them.
 */
import { type KeyValueStore, toStoreChanges } from './store.ts';

export interface ValueCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

interface Entry<V> {
  key: Buffer;
  /** undefined: absent (never written, or deleted) */
  value: V | undefined;
}

export interface Change {
  key: Buffer;
  /** null deletes (a tombstone in the changelog). */
  value: Buffer | null;
}

const idOf = (key: Buffer) => key.toString('latin1');

export class WriteCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Ids of the entries changed since the last flush: commits visit these, not the whole cache. */
  private readonly dirty = new Set<string>();
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
    const missing = new Map<string, Buffer>();
    for (const key of keys) {
      const id = idOf(key);
      if (!this.entries.has(id)) missing.set(id, key);
    }
    if (missing.size === 0) return;
    const values = await this.store.getMany([...missing.values()]);
    let index = 0;
    for (const [id, key] of missing) {
      const bytes = values[index++];
      this.entries.set(id, { key, value: bytes === undefined ? undefined : this.codec.decode(bytes) });
    }
  }

  /** The value of a loaded key; throws for a key that was not loaded, which is a bug. */
  get(key: Buffer): V | undefined {
    const entry = this.entries.get(idOf(key));
    if (!entry) throw new Error('write cache: key read before it was loaded');
    return entry.value;
  }

  set(key: Buffer, value: V): void {
    this.change(key, value);
  }

  delete(key: Buffer): void {
    this.change(key, undefined);
  }

  private change(key: Buffer, value: V | undefined): void {
    const id = idOf(key);
    const entry = this.entries.get(id);
    if (entry) entry.value = value;
    else this.entries.set(id, { key, value });
    this.dirty.add(id);
  }

  hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** Every uncommitted change, encoded, for the changelog and the store. */
  changes(): Change[] {
    const changes: Change[] = [];
    for (const id of this.dirty) {
      const entry = this.entries.get(id)!;
      changes.push({
        key: entry.key,
        value: entry.value === undefined ? null : this.codec.encode(entry.value),
      });
    }
    return changes;
  }

  /** After the commit: writes `changes` and the changelog position in one RocksDB batch. */
  async flush(changes: readonly Change[], changelogPosition: string): Promise<void> {
    await this.store.write(toStoreChanges(changes), changelogPosition);
    for (const change of changes) this.dirty.delete(idOf(change.key));
    this.evict();
  }

  /** Forgets uncommitted changes (a failed or aborted commit): the next read loads from RocksDB. */
  discardChanges(): void {
    for (const id of this.dirty) this.entries.delete(id);
    this.dirty.clear();
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    const target = Math.floor(this.maxEntries * 0.9);
    for (const id of this.entries.keys()) {
      if (this.entries.size <= target) break;
      if (!this.dirty.has(id)) this.entries.delete(id);
    }
  }
}

export const jsonCodec = <V>(): ValueCodec<V> => ({
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (bytes) => JSON.parse(bytes.toString('utf8')) as V,
});
