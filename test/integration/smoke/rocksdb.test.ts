import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRocksDbStore } from '../../../processor/state/rocksdb-store.ts';

describe('RocksDB store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-rocksdb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a batch with its changelog position, reads it back, and keeps both across a reopen', async () => {
    const path = join(dir, 'store');
    const store = await openRocksDbStore(path);
    expect(await store.changelogPosition()).toBeUndefined();
    await store.write(
      {
        puts: [
          [Buffer.from('b'), Buffer.from('2')],
          [Buffer.from('a'), Buffer.from('1')],
          [Buffer.from('c'), Buffer.from('3')],
        ],
        deletes: [],
      },
      '17',
    );
    await store.write({ puts: [], deletes: [Buffer.from('c')] }, '18');
    expect((await store.get(Buffer.from('a')))?.toString()).toBe('1');
    await store.close();

    const reopened = await openRocksDbStore(path);
    expect(await reopened.changelogPosition()).toBe('18');
    const values = await reopened.getMany([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    expect(values.map((value) => value?.toString())).toEqual(['1', '2', undefined]);
    const entries: string[] = [];
    for await (const [key, value] of reopened.range({})) entries.push(`${key}=${value}`);
    expect(entries).toEqual(['a=1', 'b=2']);
    await reopened.close();
  });

  it('refuses every call after close with STORE_CLOSED instead of crashing the process', async () => {
    const store = await openRocksDbStore(join(dir, 'closed'));
    const changes = { puts: [[Buffer.from('k'), Buffer.from('v')] as const], deletes: [] };
    // a write already started when close is called completes first; close waits for it
    const inFlight = store.write(changes, '1');
    const closing = store.close();
    await inFlight;
    await closing;
    await expect(store.write(changes, '2')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(store.get(Buffer.from('k'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(store.getMany([Buffer.from('k')])).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(store.changelogPosition()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(store.range({})[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'STORE_CLOSED',
    });
    await store.close(); // a second close is harmless
    const reopened = await openRocksDbStore(join(dir, 'closed'));
    expect(await reopened.changelogPosition()).toBe('1');
    await reopened.close();
  });

  it('ends a range left open when the store closes, and says when this process still holds a store', async () => {
    const path = join(dir, 'held');
    const store = await openRocksDbStore(path);
    await store.write(
      {
        puts: [
          [Buffer.from('a'), Buffer.from('1')],
          [Buffer.from('b'), Buffer.from('2')],
        ],
        deletes: [],
      },
      '2',
    );
    const iterator = store.range({})[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.[0].toString()).toBe('a');
    await expect(openRocksDbStore(path)).rejects.toThrow(/still open in this process/);
    await store.close(); // with the iterator still open
    await expect(iterator.next()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await iterator.return?.(undefined);
  });
});
