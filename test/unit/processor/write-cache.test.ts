import { describe, expect, it } from 'vitest';
import { createMemoryStore as memoryStore } from '../../../processor/state/memory-store.ts';
import { jsonCodec, WriteCache } from '../../../processor/state/write-cache.ts';

const key = (name: string) => Buffer.from(name);

describe('write cache', () => {
  it('changes only what was set or deleted since the last flush, and flushes it to the store', async () => {
    const store = memoryStore();
    await store.write({ puts: [[key('a'), Buffer.from('1')]], deletes: [] }, '0');
    const cache = new WriteCache<number>(store, jsonCodec(), 100);
    await cache.load([key('a'), key('b'), key('a')]);
    expect(cache.get(key('a'))).toBe(1);
    expect(cache.get(key('b'))).toBeUndefined();
    expect(cache.hasChanges()).toBe(false);
    expect(() => cache.get(key('c'))).toThrow(/before it was loaded/);

    cache.set(key('b'), 2);
    cache.set(key('b'), 3);
    cache.delete(key('a'));
    expect(cache.hasChanges()).toBe(true);
    const changes = cache.changes();
    expect(changes.map((c) => [c.key.toString(), c.value?.toString() ?? null])).toEqual([
      ['b', '3'],
      ['a', null],
    ]);
    await cache.flush(changes, '7');
    expect(cache.hasChanges()).toBe(false);
    expect(cache.changes()).toEqual([]);
    expect((await store.getMany([key('a'), key('b')])).map((v) => v?.toString())).toEqual([undefined, '3']);
  });

  it('discards uncommitted changes so the next read loads the committed value', async () => {
    const store = memoryStore();
    await store.write({ puts: [[key('a'), Buffer.from('1')]], deletes: [] }, '0');
    const cache = new WriteCache<number>(store, jsonCodec(), 100);
    await cache.load([key('a')]);
    cache.set(key('a'), 5);
    cache.discardChanges();
    expect(cache.hasChanges()).toBe(false);
    expect(() => cache.get(key('a'))).toThrow(/before it was loaded/);
    await cache.load([key('a')]);
    expect(cache.get(key('a'))).toBe(1);
  });

  it('evicts clean entries past its size after a flush, never dirty ones', async () => {
    const cache = new WriteCache<number>(memoryStore(), jsonCodec(), 10);
    const keys = Array.from({ length: 20 }, (_, i) => key(`k${i}`));
    await cache.load(keys);
    for (const [i, k] of keys.entries()) cache.set(k, i);
    const first = cache.changes().slice(0, 15);
    await cache.flush(
      cache.changes().filter((change) => first.some((f) => f.key.equals(change.key))),
      '1',
    );
    // 5 entries are still dirty and must stay; clean ones go down to 90 % of the limit
    expect(cache.size).toBe(9);
    expect(cache.changes().map((c) => c.key.toString())).toEqual(['k15', 'k16', 'k17', 'k18', 'k19']);
  });
});
