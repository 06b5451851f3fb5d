/**
 * The commit protocol's order (processor/task/commit.ts), with a fake transactional producer and
 * the in-memory store: the store is written only after Kafka committed, with the changelog
 * position the commit reached; a failure at any step aborts and leaves the store untouched.
 */
import { describe, expect, it } from 'vitest';
import type { OutgoingRecord, PartitionWrite, TransactionalProducer } from '../../../common/kafka/index.ts';
import { createMemoryStore } from '../../../processor/state/memory-store.ts';
import { toStoreChanges } from '../../../processor/state/store.ts';
import { commitWork } from '../../../processor/task/commit.ts';

type Step = 'send' | 'sendOffsets' | 'commit' | 'abort' | 'flush';

function fakeProducer(steps: Step[], failAt?: Step): TransactionalProducer {
  let nextOffset = 100;
  const step = async (name: Step) => {
    steps.push(name);
    if (name === failAt) throw new Error(`${name} failed`);
  };
  return {
    transactionalId: 'test',
    async begin() {
      return {
        async send(records: readonly OutgoingRecord[]): Promise<PartitionWrite[]> {
          await step('send');
          return records.map((record) => ({
            topic: record.topic,
            partition: record.partition ?? 0,
            baseOffset: String(nextOffset++),
            count: 1,
          }));
        },
        sendOffsets: () => step('sendOffsets'),
        commit: () => step('commit'),
        abort: () => step('abort'),
      };
    },
    disconnect: async () => undefined,
  };
}

const changes = [
  { key: Buffer.from('a'), value: Buffer.from('1') },
  { key: Buffer.from('b'), value: null },
];

async function commitOnce(failAt?: Step, mayCommit: () => boolean = () => true) {
  const steps: Step[] = [];
  const store = createMemoryStore();
  const commit = commitWork(
    { guarantee: 'exactly_once', producer: fakeProducer(steps, failAt), groupId: 'app' },
    {
      partition: 3,
      inputs: [{ topic: 'in', offset: '42' }],
      outputs: [{ topic: 'out', key: null, value: Buffer.from('x'), headers: {} }],
      changelogs: [{ topic: 'app-changelog', changes }],
      epoch: 7,
      mayCommit,
      async flushStores(changelogPositions) {
        steps.push('flush');
        const changelogPosition = changelogPositions.get('app-changelog');
        if (changelogPosition !== undefined) await store.write(toStoreChanges(changes), changelogPosition);
      },
    },
  );
  return { steps, store, commit };
}

describe('commitWork (exactly once)', () => {
  it('produces, adds offsets, commits, then writes the store with the changelog position reached', async () => {
    const { steps, store, commit } = await commitOnce();
    await commit;
    expect(steps).toEqual(['send', 'sendOffsets', 'commit', 'flush']);
    // output at 100, changelog records at 101 and 102 (partition 3): the store reflects up to 103
    expect(store.writes).toEqual([{ keys: 2, changelogPosition: '103' }]);
    expect(await store.changelogPosition()).toBe('103');
  });

  for (const failAt of ['send', 'sendOffsets', 'commit'] as const) {
    it(`aborts and leaves the store untouched when ${failAt} fails`, async () => {
      const { steps, store, commit } = await commitOnce(failAt);
      await expect(commit).rejects.toThrow(`${failAt} failed`);
      expect(steps.at(-1)).toBe('abort');
      expect(steps).not.toContain('flush');
      expect(store.writes).toEqual([]);
      expect(await store.changelogPosition()).toBeUndefined();
    });
  }

  it('aborts instead of committing when the lease stopped allowing commits during the sends', async () => {
    let allowed = true;
    const { steps, store, commit } = await commitOnce(undefined, () => {
      const now = allowed;
      allowed = false;
      return now;
    });
    allowed = false;
    await expect(commit).rejects.toMatchObject({ code: 'KAFKA_FENCED' });
    expect(steps).toEqual(['send', 'sendOffsets', 'abort']);
    expect(store.writes).toEqual([]);
  });

  it('refuses writes to a closed store, as RocksDB does', async () => {
    const store = createMemoryStore('/state/app/counts/3');
    await store.close();
    await expect(store.write(toStoreChanges(changes), '1')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
