/**
 * The key/value decoder (common/kafka/record-batch-decoder.ts, used by changelog restore) against
 * kafkajs' own decoding on the same real topics: plain and gzip batches, tombstones, committed and
 * aborted transactions interleaved on one partition, and a compacted log whose batches the cleaner
 * emptied or thinned. Read from many start offsets (inside aborted transactions too) and with a
 * fetch size so small that most responses end inside a batch, both must deliver the same keys and
 * values in the same order and end at the same positions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { KafkaClient } from '../../../common/kafka/index.ts';
import { testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import { endsWithMarkers } from '../../env/transaction-markers.ts';

type Pair = [string | null, string | null];
const text = (buffer: Buffer | null) => (buffer === null ? null : buffer.toString('latin1'));

async function readBoth(
  kafka: KafkaClient,
  topic: string,
  from: ReadonlyMap<number, string>,
  maxBytes: number,
) {
  const viaKafkajs: Pair[] = [];
  const viaDecoder: Pair[] = [];
  const common = { topic, from, until: 'end' as const, maxBytesPerPartition: maxBytes };
  const kafkajsEnd = await kafka.readTopic({
    ...common,
    onBatch: (records) => {
      for (const record of records) viaKafkajs.push([text(record.key), text(record.value)]);
    },
  });
  const decoderEnd = await kafka.readTopic({
    ...common,
    onKeyValues: ({ keys, values }) => {
      for (const [index, key] of keys.entries()) viaDecoder.push([text(key), text(values[index]!)]);
    },
  });
  return { viaKafkajs, viaDecoder, kafkajsEnd, decoderEnd };
}

async function highWatermark(kafka: KafkaClient, topic: string): Promise<number> {
  const admin = await kafka.connectAdmin();
  try {
    return Number((await admin.topicOffsets(topic))[0]!.high);
  } finally {
    await admin.disconnect();
  }
}

async function expectSameReads(
  kafka: KafkaClient,
  topic: string,
  partition: number,
  starts: readonly number[],
) {
  for (const maxBytes of [4 * 1024 * 1024, 700]) {
    for (const start of starts) {
      const reads = await readBoth(kafka, topic, new Map([[partition, String(start)]]), maxBytes);
      const where = `from ${start}, maxBytes ${maxBytes}`;
      expect(reads.viaDecoder, where).toEqual(reads.viaKafkajs);
      expect(reads.decoderEnd, where).toEqual(reads.kafkajsEnd);
    }
  }
}

describe('key/value fetch decoding equals kafkajs', () => {
  const kafka = testKafka();

  it('on plain, gzip, tombstone and transactional batches with aborted transactions interleaved', {
    timeout: 120_000,
  }, async () => {
    const topic = uniqueName('kv-fetch');
    const admin = await kafka.connectAdmin();
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    await admin.disconnect();
    const records = (prefix: string, count: number, tombstoneEvery = 0) =>
      Array.from({ length: count }, (_, i) => ({
        topic,
        partition: 0,
        key: i % 7 === 6 ? null : `${prefix}-key-${i % 13}`,
        value:
          tombstoneEvery > 0 && i % tombstoneEvery === 0
            ? null
            : `${prefix}-value-${i}-${'x'.repeat(i % 40)}`,
        headers: { 'sluice.epoch': String(i) },
      }));
    const plain = await kafka.createProducer();
    const gzip = await kafka.createProducer({ compression: 'gzip' });
    const a = await kafka.createTransactionalProducer(`${topic}-a`);
    const b = await kafka.createTransactionalProducer(`${topic}-b`, { compression: 'gzip' });
    await plain.send(records('plain', 30, 5));
    await gzip.send(records('gzip', 30, 4));
    // A's transaction spans B's committed one and is aborted; then both commit, then A aborts again
    const aborted = await a.begin();
    await aborted.send(records('aborted-1', 10));
    const committed = await b.begin();
    await committed.send(records('committed-b', 10, 3));
    await aborted.send(records('aborted-2', 10));
    await committed.commit();
    await aborted.send(records('aborted-3', 5));
    await aborted.abort();
    for (const producer of [a, b]) {
      const transaction = await producer.begin();
      await transaction.send(records(`committed-${producer.transactionalId.slice(-1)}`, 12, 6));
      await transaction.commit();
    }
    const abortedAgain = await a.begin();
    await abortedAgain.send(records('aborted-4', 8));
    await abortedAgain.abort();
    await plain.send(records('tail', 5));
    for (const producer of [plain, gzip, a, b]) await producer.disconnect();
    // 132 records and 5 transaction markers: both reads below must see the same, finished log
    const markersIn = await kafka.connectAdmin();
    await endsWithMarkers(markersIn, topic, new Map([[0, '137']])).finally(() => markersIn.disconnect());

    const { viaKafkajs } = await readBoth(kafka, topic, new Map(), 4 * 1024 * 1024);
    // what kafkajs sees is the reference: nothing of the aborted transactions, everything else
    expect(viaKafkajs.filter(([, value]) => value?.startsWith('aborted'))).toEqual([]);
    expect(viaKafkajs).toHaveLength(30 + 30 + 10 + 24 + 5);
    // every offset as a start: inside batches, inside the aborted transactions, on markers
    const high = await highWatermark(kafka, topic);
    await expectSameReads(kafka, topic, 0, [...Array(high + 1).keys()]);
  });

  it('on a compacted log whose batches the cleaner emptied or thinned', { timeout: 180_000 }, async () => {
    const topic = uniqueName('kv-fetch-compacted');
    const admin = await kafka.connectAdmin();
    await admin.ensureTopics([
      {
        topic,
        partitions: 1,
        config: {
          'cleanup.policy': 'compact',
          'segment.ms': '100',
          'min.cleanable.dirty.ratio': '0.001',
          'min.compaction.lag.ms': '0',
          'delete.retention.ms': '0',
        },
      },
    ]);
    await admin.disconnect();
    const producer = await kafka.createTransactionalProducer(`${topic}-writer`);
    let written = 0;
    // rounds of overwrites of 20 keys (a tombstone now and then), in transactions, some aborted
    const writeRound = async (round: number) => {
      const transaction = await producer.begin();
      await transaction.send(
        Array.from({ length: 25 }, (_, i) => ({
          topic,
          partition: 0,
          key: `key-${(i * 7 + round) % 20}`,
          value: (i + round) % 11 === 0 ? null : `round-${round}-${i}`,
        })),
      );
      if (round % 4 === 3) await transaction.abort();
      else await transaction.commit();
      written += 25;
    };
    let compacted = false;
    for (let round = 0; round < 400 && !compacted; round++) {
      await writeRound(round);
      await sleep(150); // segments roll (segment.ms) so the cleaner has something to clean
      if (round % 20 === 19) {
        const { viaKafkajs } = await readBoth(kafka, topic, new Map(), 4 * 1024 * 1024);
        const committedWritten = written - 25 * Math.floor((round + 1) / 4);
        compacted = viaKafkajs.length < committedWritten;
      }
    }
    expect(compacted, 'the cleaner compacted the log').toBe(true);
    const high = await highWatermark(kafka, topic);
    const starts = Array.from({ length: 40 }, (_, i) => Math.floor((high * i) / 40));
    await expectSameReads(kafka, topic, 0, starts);
  });
});
