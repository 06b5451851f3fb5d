import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaAdmin } from '../../../common/kafka/index.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';

describe('Kafka through our client module', () => {
  const kafka = testKafka();
  let admin: KafkaAdmin;

  beforeAll(async () => {
    admin = await kafka.connectAdmin();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('produces with acks=all and reads the records back in order, with keys and headers', async () => {
    const topic = uniqueName('smoke-produce');
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await kafka.createProducer();
    const records = Array.from({ length: 30 }, (_, i) => ({
      topic,
      key: `tenant-${i % 5}`,
      value: `event-${i}`,
      headers: { 'event-id': `id-${i}` },
    }));
    const writes = await producer.send(records);
    await producer.disconnect();
    expect(writes.every((write) => BigInt(write.baseOffset) >= 0n)).toBe(true);

    const read = await readAll(kafka, topic);
    expect(read.map((record) => record.value?.toString()).sort()).toEqual(records.map((r) => r.value).sort());
    // one key, one partition; and within a partition the order of sending
    const partitionOfKey = new Map<string, Set<number>>();
    for (const record of read) {
      const key = record.key!.toString();
      partitionOfKey.set(key, (partitionOfKey.get(key) ?? new Set()).add(record.partition));
      expect(record.headers['event-id']?.toString()).toBe(`id-${record.value!.toString().slice(6)}`);
    }
    expect([...partitionOfKey.values()].every((partitions) => partitions.size === 1)).toBe(true);
    for (const key of partitionOfKey.keys()) {
      const sequence = read
        .filter((r) => r.key!.toString() === key)
        .map((r) => Number(r.value!.toString().slice(6)));
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
    }
  });

  it('keeps every record timestamp of a batch whose timestamps are out of order', async () => {
    const topic = uniqueName('smoke-timestamps');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await kafka.createProducer();
    // a batch's base timestamp is its smallest (deltas may not be negative), 999 < 1000 among them
    const timestamps = [1767225605000, 1767225603000, 1767225609000, 999, 1767225600000];
    await producer.send(timestamps.map((timestamp, i) => ({ topic, key: 'k', value: `v${i}`, timestamp })));
    await producer.disconnect();
    const read = await readAll(kafka, topic);
    expect(read.map((record) => record.timestamp)).toEqual(timestamps);
  });

  it('shows read_committed readers the committed transaction only, offsets included', async () => {
    const topic = uniqueName('smoke-tx');
    const input = uniqueName('smoke-tx-input');
    const groupId = uniqueName('smoke-group');
    await admin.ensureTopics([
      { topic, partitions: 2 },
      { topic: input, partitions: 1 },
    ]);
    const producer = await kafka.createTransactionalProducer(uniqueName('smoke-txid'));

    const committed = await producer.begin();
    await committed.send([
      { topic, key: 'a', value: 'committed-1' },
      { topic, key: 'b', value: 'committed-2' },
    ]);
    await committed.sendOffsets(groupId, [{ topic: input, partition: 0, offset: '42' }]);
    await committed.commit();

    const aborted = await producer.begin();
    await aborted.send([{ topic, key: 'a', value: 'aborted-1' }]);
    await aborted.sendOffsets(groupId, [{ topic: input, partition: 0, offset: '99' }]);
    await aborted.abort();
    await producer.disconnect();

    const visible = (await readAll(kafka, topic, 'read_committed')).map((r) => r.value!.toString());
    expect(visible.sort()).toEqual(['committed-1', 'committed-2']);
    const everything = (await readAll(kafka, topic, 'read_uncommitted')).map((r) => r.value!.toString());
    expect(everything.sort()).toEqual(['aborted-1', 'committed-1', 'committed-2']);
    expect(await admin.committedOffsets(groupId, input)).toEqual([{ partition: 0, offset: '42' }]);
  });

  it('fences the older of two producers with the same transactional id', async () => {
    const topic = uniqueName('smoke-fence');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const transactionalId = uniqueName('smoke-fence-txid');
    const old = await kafka.createTransactionalProducer(transactionalId);
    const stale = await old.begin();
    await stale.send([{ topic, key: 'k', value: 'from-the-old-owner' }]);

    const successor = await kafka.createTransactionalProducer(transactionalId);
    await expect(stale.commit()).rejects.toMatchObject({ code: 'KAFKA_FENCED' });
    const fresh = await successor.begin();
    await fresh.send([{ topic, key: 'k', value: 'from-the-new-owner' }]);
    await fresh.commit();
    await Promise.all([old.disconnect(), successor.disconnect()]);

    expect((await readAll(kafka, topic)).map((r) => r.value!.toString())).toEqual(['from-the-new-owner']);
  });

  it('does not fence when the caller lost the right to while connecting: the owner commits', async () => {
    const topic = uniqueName('smoke-nofence');
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const transactionalId = uniqueName('smoke-nofence-txid');
    const owner = await kafka.createTransactionalProducer(transactionalId);
    const open = await owner.begin();
    await open.send([{ topic, key: 'k', value: 'from-the-owner' }]);

    let asked = 0;
    await expect(
      kafka.createTransactionalProducer(transactionalId, {
        mayFence: () => {
          asked++;
          return false;
        },
      }),
    ).rejects.toMatchObject({ code: 'KAFKA_FENCED', message: expect.stringMatching(/not fencing/) });
    expect(asked).toBe(1);
    await open.commit();
    await owner.disconnect();

    expect((await readAll(kafka, topic)).map((r) => r.value!.toString())).toEqual(['from-the-owner']);
  });
});
