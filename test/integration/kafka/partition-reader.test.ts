/**
 * The partition reader against the shared broker: read_committed delivery with markers advancing
 * the position, several partitions in order, seeks mid-stream, remove, and offsets out of range.
 * Broker outages are in partition-reader-faults.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedBatch, KafkaAdmin, PartitionReader } from '../../../common/kafka/index.ts';
import { testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import { endsWithMarkers } from '../../env/transaction-markers.ts';
import { waitFor } from '../../env/wait.ts';

const values = (batches: ConsumedBatch[], partition: number) =>
  batches
    .filter((batch) => batch.partition === partition)
    .flatMap((batch) => batch.records.map((r) => String(r.value)));

/** Each partition's batches must chain: a batch is fetched from where the previous one ended. */
function expectContiguous(batches: ConsumedBatch[], partition: number, from: string): void {
  let position = from;
  for (const batch of batches.filter((candidate) => candidate.partition === partition)) {
    expect(batch.fetchedOffset).toBe(position);
    for (const record of batch.records) {
      expect(BigInt(record.offset) >= BigInt(position)).toBe(true);
      expect(BigInt(record.offset) < BigInt(batch.nextOffset)).toBe(true);
    }
    position = batch.nextOffset;
  }
}

describe('partition reader (no consumer group)', () => {
  const kafka = testKafka();
  let admin: KafkaAdmin;
  const readers: PartitionReader[] = [];
  const newReader = (options: Parameters<typeof kafka.createPartitionReader>[0]) => {
    const reader = kafka.createPartitionReader(options);
    readers.push(reader);
    return reader;
  };

  beforeAll(async () => {
    admin = await kafka.connectAdmin();
  });
  afterAll(async () => {
    await Promise.all(readers.map((reader) => reader.stop()));
    await admin.disconnect();
  });

  /** Produces `count` records to `partition` in separate requests, so each is a record batch of its own. */
  async function produceBatches(topic: string, partition: number, count: number, prefix: string) {
    const producer = await kafka.createProducer();
    for (let i = 0; i < count; i++) {
      await producer.send([{ topic, partition, key: 'k', value: `${prefix}${i}` }]);
    }
    await producer.disconnect();
  }

  it('delivers committed records only, in order per partition, from the given offsets; markers move the position', async () => {
    const topic = uniqueName('reader-committed');
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await kafka.createTransactionalProducer(uniqueName('reader-txid'));
    const committed = await producer.begin();
    await committed.send([
      ...['a0', 'a1', 'a2'].map((value) => ({ topic, partition: 0, key: 'k', value })),
      ...['b0', 'b1', 'b2'].map((value) => ({ topic, partition: 1, key: 'k', value })),
    ]);
    await committed.commit();
    const aborted = await producer.begin();
    await aborted.send([
      { topic, partition: 0, key: 'k', value: 'aborted-0' },
      { topic, partition: 1, key: 'k', value: 'aborted-1' },
    ]);
    await aborted.abort();
    const last = await producer.begin();
    await last.send([{ topic, partition: 0, key: 'k', value: 'a3' }]);
    await last.commit();
    await producer.disconnect();
    // partition 0: a0..a2 at 0..2, a commit marker at 3, the aborted record at 4, its abort marker
    // at 5, a3 at 6 and its commit marker at 7; partition 1: b0..b2, commit marker, aborted-1, abort marker
    const ends = await endsWithMarkers(
      admin,
      topic,
      new Map([
        [0, '8'],
        [1, '6'],
      ]),
    );

    const batches: ConsumedBatch[] = [];
    const delivering = new Set<number>();
    let overlapping = 0;
    const reader = newReader({
      topic,
      onBatch: async (batch) => {
        if (delivering.has(batch.partition)) overlapping++;
        delivering.add(batch.partition);
        batches.push(batch);
        await sleep(5);
        delivering.delete(batch.partition);
      },
    });
    reader.seek(0, '0');
    reader.seek(1, '1');
    reader.seek(2, '0');
    expect(reader.partitions()).toEqual([0, 1, 2]);
    const position = (partition: number) =>
      batches.filter((batch) => batch.partition === partition).at(-1)?.nextOffset;
    await waitFor('both partitions read past their last transaction marker', () =>
      position(0) === ends.get(0) && position(1) === ends.get(1) ? true : undefined,
    );

    expect(values(batches, 0)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(values(batches, 1)).toEqual(['b1', 'b2']);
    expect(values(batches, 2)).toEqual([]);
    expectContiguous(batches, 0, '0');
    expectContiguous(batches, 1, '1');
    // partition 1: the position passed both markers though the last visible record is at 2
    expect(
      batches.filter((batch) => batch.partition === 1).flatMap((b) => b.records.map((r) => r.offset)),
    ).toEqual(['1', '2']);
    expect(overlapping).toBe(0);
    expect(batches.every((batch) => BigInt(batch.highWatermark) >= BigInt(batch.nextOffset))).toBe(true);
    expect(reader.lastFetchAt()).toBeTypeOf('number');
  });

  it('hides interleaved aborted transactions, read from their start or from inside them', async () => {
    const topic = uniqueName('reader-interleaved');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const first = await kafka.createTransactionalProducer(uniqueName('reader-txid-a'));
    const second = await kafka.createTransactionalProducer(uniqueName('reader-txid-b'));
    const a = await first.begin();
    await a.send([{ topic, partition: 0, key: 'k', value: 'aborted-a0' }]);
    const b = await second.begin();
    await b.send([{ topic, partition: 0, key: 'k', value: 'aborted-b1' }]);
    await a.send([{ topic, partition: 0, key: 'k', value: 'aborted-a2' }]);
    // b ends first: the broker lists the aborted transactions b (from 1), then a (from 0)
    await b.abort();
    await a.abort();
    const c = await first.begin();
    await c.send([{ topic, partition: 0, key: 'k', value: 'committed' }]);
    await c.commit();
    await Promise.all([first.disconnect(), second.disconnect()]);
    // three aborted records, two abort markers, the committed record and its marker
    const end = '7';
    await endsWithMarkers(admin, topic, new Map([[0, end]]));

    for (const from of ['0', '2']) {
      const batches: ConsumedBatch[] = [];
      const reader = newReader({ topic, onBatch: async (batch) => void batches.push(batch) });
      reader.seek(0, from);
      await waitFor(`the end, reading from ${from}`, () => batches.at(-1)?.nextOffset === end);
      expect(values(batches, 0)).toEqual(['committed']);
      await reader.stop();
    }
  });

  it('after a seek, back or forward, the next batch starts exactly at the target', async () => {
    const topic = uniqueName('reader-seek');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    await produceBatches(topic, 0, 60, 'v');

    const batches: ConsumedBatch[] = [];
    let seekForwardAt: number | undefined;
    let seekBackAt: number | undefined;
    // one record batch per fetch (a fetch returns at least one whole batch), so seeks land mid-stream
    const reader = newReader({
      topic,
      maxBytesPerPartition: 1,
      onBatch: async (batch) => {
        batches.push(batch);
        // a seek from inside the partition's own onBatch, as a task restarting would do
        if (batches.length === 3) {
          reader.seek(0, '40');
          seekForwardAt = batches.length;
        }
      },
    });
    reader.seek(0, '0');
    await waitFor('the seek forward to be served', () => batches.length > (seekForwardAt ?? Infinity));
    // a seek from outside, while fetches of the old position are in flight
    await waitFor('a few batches after the seek', () => batches.length >= (seekForwardAt ?? 0) + 3);
    reader.seek(0, '7');
    seekBackAt = batches.length;
    await waitFor('the seek back to be served', () => batches.length > (seekBackAt ?? Infinity));

    const forward = batches[seekForwardAt as number] as ConsumedBatch;
    expect(forward.fetchedOffset).toBe('40');
    expect(forward.records[0]?.offset).toBe('40');
    expect(String(forward.records[0]?.value)).toBe('v40');
    const back = batches[seekBackAt] as ConsumedBatch;
    expect(back.fetchedOffset).toBe('7');
    expect(back.records[0]?.offset).toBe('7');
    await waitFor('the end after the seek back', () => batches.at(-1)?.nextOffset === '60');
    expect(batches.slice(seekBackAt).flatMap((batch) => batch.records.map((r) => r.offset))).toEqual(
      Array.from({ length: 53 }, (_, i) => String(i + 7)),
    );
  });

  it('delivers nothing of a removed partition once remove() resolved', async () => {
    const topic = uniqueName('reader-remove');
    await admin.ensureTopics([{ topic, partitions: 2 }]);
    await Promise.all([produceBatches(topic, 0, 40, 'p0-'), produceBatches(topic, 1, 40, 'p1-')]);

    const batches: ConsumedBatch[] = [];
    const reader = newReader({
      topic,
      maxBytesPerPartition: 1,
      onBatch: async (batch) => {
        batches.push(batch);
        await sleep(10);
      },
    });
    reader.seek(0, '0');
    reader.seek(1, '0');
    await waitFor('partition 1 to be read', () => batches.some((batch) => batch.partition === 1));
    await reader.remove(1);
    const ofOneAtRemoval = batches.filter((batch) => batch.partition === 1).length;
    expect(reader.partitions()).toEqual([0]);
    await waitFor('partition 0 to be read to its end', () =>
      batches.some((batch) => batch.partition === 0 && batch.nextOffset === '40'),
    );
    expect(batches.filter((batch) => batch.partition === 1)).toHaveLength(ofOneAtRemoval);
    expect(ofOneAtRemoval).toBeLessThan(40);
  });

  it('asks onOutOfRange where to go on when the requested offset was deleted', async () => {
    const topic = uniqueName('reader-out-of-range');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    await produceBatches(topic, 0, 30, 'v');
    await admin.deleteRecords(topic, [{ partition: 0, offset: '20' }]);

    const asked: [number, string, string, string][] = [];
    const batches: ConsumedBatch[] = [];
    const reader = newReader({
      topic,
      onBatch: async (batch) => void batches.push(batch),
      onOutOfRange: (partition, requested, logStart, logEnd) => {
        asked.push([partition, requested, logStart, logEnd]);
        return '25';
      },
    });
    reader.seek(0, '5');
    await waitFor('the end of the partition', () => batches.at(-1)?.nextOffset === '30');
    expect(asked).toEqual([[0, '5', '20', '30']]);
    expect(batches[0]?.fetchedOffset).toBe('25');
    expect(batches.flatMap((batch) => batch.records.map((r) => String(r.value)))).toEqual([
      'v25',
      'v26',
      'v27',
      'v28',
      'v29',
    ]);

    // without onOutOfRange: from the log start
    const fromStart: ConsumedBatch[] = [];
    const defaulted = newReader({ topic, onBatch: async (batch) => void fromStart.push(batch) });
    defaulted.seek(0, '3');
    await waitFor('the end of the partition', () => fromStart.at(-1)?.nextOffset === '30');
    expect(fromStart[0]?.fetchedOffset).toBe('20');
    expect(fromStart.flatMap((batch) => batch.records.map((r) => r.offset))).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i + 20)),
    );
  });

  it('stops at an onBatch that throws, reports that error as it is, and delivers nothing more', async () => {
    const topic = uniqueName('reader-throws');
    await admin.ensureTopics([{ topic, partitions: 2 }]);
    await Promise.all([produceBatches(topic, 0, 5, 'p0-'), produceBatches(topic, 1, 5, 'p1-')]);
    const thrown = new Error('the store refused the write');
    const errors: unknown[] = [];
    let calls = 0;
    const reader = newReader({
      topic,
      maxBytesPerPartition: 1,
      onBatch: async () => {
        calls++;
        throw thrown;
      },
      onFatalError: (error) => void errors.push(error),
    });
    reader.seek(0, '0');
    reader.seek(1, '0');
    await waitFor('the error', () => errors.length > 0);
    const callsAtError = calls;
    await produceBatches(topic, 0, 5, 'p0-more-');
    await sleep(1000);
    expect(errors).toEqual([thrown]);
    expect(calls).toBe(callsAtError);
    expect(calls).toBeLessThanOrEqual(2);
  });

  it('calls onFatalError and stops when the topic does not exist', { timeout: 60_000 }, async () => {
    const errors: unknown[] = [];
    const reader = newReader({
      topic: uniqueName('reader-no-such-topic'),
      onBatch: async () => undefined,
      onFatalError: (error) => void errors.push(error),
    });
    reader.seek(0, '0');
    await waitFor('the fatal error', () => errors.length > 0, { timeoutMs: 40_000 });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/the topic does not exist/);
  });
});
