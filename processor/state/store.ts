/**
 * A task's local key-value state: a cache of its changelog. The store is the single owner of
 * the changelog position it reflects, written in the same atomic batch as the data (invariant 5).
 */

export interface StoreChanges {
  puts: ReadonlyArray<readonly [Buffer, Buffer]>;
  deletes: readonly Buffer[];
}

/**
 * Key/value changes in changelog order (a null value deletes, like a tombstone) as puts and
 * deletes of distinct keys: the last change of a key wins. A store applies puts and deletes in
 * no particular order, so a key deleted and set again within one batch (a session store's key
 * when its sessions close and a new one opens) must not reach it as both, or the delete may win.
 */
export function toStoreChanges(changes: Iterable<{ key: Buffer; value: Buffer | null }>): StoreChanges {
  const last = new Map<string, { key: Buffer; value: Buffer | null }>();
  for (const change of changes) {
    const id = change.key.toString('latin1');
    last.delete(id); // re-inserted: the map keeps changelog order of each key's last change
    last.set(id, change);
  }
  const puts: [Buffer, Buffer][] = [];
  const deletes: Buffer[] = [];
  for (const { key, value } of last.values()) {
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
