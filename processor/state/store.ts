/**
 * A task's local key-value state: a cache of its changelog. The store is the single owner of
 * the changelog position it reflects, written in the same atomic batch as the data (invariant 5).
 */

export interface StoreChanges {
  puts: ReadonlyArray<readonly [Buffer, Buffer]>;
  deletes: readonly Buffer[];
}

/** Key/value changes (a null value deletes, like a changelog tombstone) as puts and deletes. */
export function toStoreChanges(changes: Iterable<{ key: Buffer; value: Buffer | null }>): StoreChanges {
  const puts: [Buffer, Buffer][] = [];
  const deletes: Buffer[] = [];
  for (const { key, value } of changes) {
    if (value === null) deletes.push(key);
    else puts.push([key, value]);
  }
  return { puts, deletes };
}

export interface KeyValueStore {
  readonly path: string;
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]>;
  /**
   * Applies the changes and records `changelogPosition` (the first changelog offset NOT reflected
   * in the store) in one atomic write batch.
   */
  write(changes: StoreChanges, changelogPosition: string): Promise<void>;
  /** The recorded changelog position; undefined when the store has none or it is unreadable. */
  changelogPosition(): Promise<string | undefined>;
  /** Entries with gte <= key < lt, in key order. */
  range(bounds: { gte?: Buffer; lt?: Buffer }): AsyncIterable<[Buffer, Buffer]>;
  close(): Promise<void>;
}
