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
});
