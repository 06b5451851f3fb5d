/**
 * readTopic on the partition reader: a follow-mode read that is aborted while an onBatch runs
 * resolves only after that onBatch finished, and never calls onBatch again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { testKafka } from '../../env/clients.ts';
import { uniqueName } from '../../env/names.ts';
import { waitFor } from '../../env/wait.ts';

describe('readTopic', () => {
  const kafka = testKafka();

  it('after an abort, resolves once the running onBatch finished and calls nothing again', async () => {
    const topic = uniqueName('read-topic-abort');
    const admin = await kafka.connectAdmin();
    await admin.ensureTopics([{ topic, partitions: 2 }]);
    await admin.disconnect();
    const producer = await kafka.createProducer();
    const produce = (from: number) =>
      producer.send(
        Array.from({ length: 10 }, (_, i) => ({ topic, partition: i % 2, key: 'k', value: `v${from + i}` })),
      );
    await produce(0);

    const abort = new AbortController();
    let delivered = 0;
    let running = false;
    let callsAfterAbort = 0;
    const reading = kafka.readTopic({
      topic,
      until: 'follow',
      signal: abort.signal,
      onBatch: async (records) => {
        if (abort.signal.aborted) callsAfterAbort++;
        running = true;
        delivered += records.length;
        await sleep(300);
        running = false;
      },
    });
    await waitFor('an onBatch to be running', () => running);
    abort.abort();
    const positions = await reading;
    expect(running).toBe(false);
    expect(positions.size).toBe(2);

    await produce(10);
    await sleep(2000);
    await producer.disconnect();
    expect(callsAfterAbort).toBe(0);
    expect(delivered).toBeLessThanOrEqual(10);
  });
});
