/**
 * A changelog batch applied to a store: the last change of each key wins, whatever the order the
 * store applies puts and deletes in (a key deleted then set again in one batch stays set — the
 * session-store restore bug the restore-after-SIGKILL test found).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../processor/state/memory-store.ts';
import { toStoreChanges } from '../../../processor/state/store.ts';

const b = (text: string) => Buffer.from(text);
const change = (key: string, value: string | null) => ({
  key: b(key),
  value: value === null ? null : b(value),
});

describe('changelog records as store changes', () => {
  it('keeps only the last change of each key', () => {
    const changes = toStoreChanges([
      change('k', 'v1'),
      change('k', null), // the sessions closed
      change('k', 'v2'), // a new session
      change('gone', 'x'),
      change('gone', null),
      change('once', 'o'),
    ]);
    expect(changes.puts.map(([key, value]) => [key.toString(), value.toString()])).toEqual([
      ['k', 'v2'],
      ['once', 'o'],
    ]);
    expect(changes.deletes.map((key) => key.toString())).toEqual(['gone']);
  });

  it('leaves a store with the state the records describe in order', async () => {
    const store = createMemoryStore();
    await store.write(toStoreChanges([change('k', 'v1'), change('other', 'a')]), '2');
    await store.write(toStoreChanges([change('k', null), change('k', 'v2'), change('other', null)]), '5');
    expect((await store.get(b('k')))?.toString()).toBe('v2');
    expect(await store.get(b('other'))).toBeUndefined();
    expect(await store.changelogPosition()).toBe('5');
  });
});
