/**
 * The partition reader against a broker of its own that is stopped, restarted and frozen
 * (SIGSTOP): retriable trouble never reaches the caller, reading resumes by itself, and stop()
 * is bounded and final whatever the broker does.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedBatch, KafkaClient, PartitionReader } from '../../../common/kafka/index.ts';
import { testKafka } from '../../env/clients.ts';
import { freezeProcess } from '../../env/freeze.ts';
import { uniqueName } from '../../env/names.ts';
import { type PrivateKafka, startPrivateKafka } from '../../env/private-kafka.ts';
import { waitFor } from '../../env/wait.ts';

/** stop() must not wait on a broker that does not answer; generous for a shared 2-core machine. */
const stopBoundMs = 3000;
/** How long a stopped reader is watched for late callbacks, with the broker back and records arriving. */
const quietAfterStopMs = 4000;

describe('partition reader through broker outages', () => {
  let broker: PrivateKafka;
  let kafka: KafkaClient;
  const readers: PartitionReader[] = [];

  beforeAll(async () => {
    broker = await startPrivateKafka();
    kafka = testKafka(broker.brokers);
  });
  afterAll(async () => {
    await Promise.all(readers.map((reader) => reader.stop()));
    await broker?.destroy();
  });

  async function topicWith(count: number, prefix: string): Promise<string> {
    const topic = uniqueName('reader-faults');
    const admin = await kafka.connectAdmin();
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    await admin.disconnect();
    await produce(topic, 0, count, prefix);
    return topic;
  }

  async function produce(topic: string, from: number, count: number, prefix: string): Promise<void> {
    const producer = await kafka.createProducer();
    await producer.send(
      Array.from({ length: count }, (_, i) => ({
        topic,
        partition: 0,
        key: 'k',
        value: `${prefix}${from + i}`,
      })),
    );
    await producer.disconnect();
  }

  /** A reader that counts every callback, and the ones made after stop() was called. */
  function watchedReader(topic: string) {
    const batches: ConsumedBatch[] = [];
    const errors: unknown[] = [];
    let stopCalled = false;
    let callsAfterStop = 0;
    const reader = kafka.createPartitionReader({
      topic,
      onBatch: async (batch) => {
        if (stopCalled) callsAfterStop++;
        batches.push(batch);
      },
      onFatalError: (error) => {
        if (stopCalled) callsAfterStop++;
        errors.push(error);
      },
    });
    readers.push(reader);
    return {
      reader,
      batches,
      errors,
      values: () => batches.flatMap((batch) => batch.records.map((record) => String(record.value))),
      /** stop(), timed. */
      async stop(): Promise<number> {
        stopCalled = true;
        const started = performance.now();
        await reader.stop();
        return performance.now() - started;
      },
      callsAfterStop: () => callsAfterStop,
    };
  }

  it('keeps retrying while the broker is down, without errors, and resumes when it returns', {
    timeout: 180_000,
  }, async () => {
    const topic = await topicWith(10, 'v');
    const watched = watchedReader(topic);
    watched.reader.seek(0, '0');
    await waitFor('the first records', () => watched.values().length === 10);

    await broker.service.stop();
    // no successful fetch for a while: the caller's progress check would see it
    await waitFor('fetches to stop succeeding', () => {
      const last = watched.reader.lastFetchAt();
      return last !== undefined && performance.now() - last > 3000;
    });
    expect(watched.errors).toEqual([]);

    await broker.service.start(() => undefined);
    await produce(topic, 10, 10, 'v');
    await waitFor('reading to resume after the restart', () => watched.values().length === 20, {
      timeoutMs: 60_000,
    });
    expect(watched.values()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    expect(watched.errors).toEqual([]);
  });

  it('stop() while the broker is down resolves within a bound, and nothing is called back afterwards', {
    timeout: 180_000,
  }, async () => {
    const topic = await topicWith(5, 'w');
    const watched = watchedReader(topic);
    watched.reader.seek(0, '0');
    await waitFor('the first records', () => watched.values().length === 5);

    await broker.service.stop();
    await sleep(1000); // let the reader fail and retry against the dead broker
    const took = await watched.stop();
    expect(took).toBeLessThan(stopBoundMs);

    // the broker back and new records: a reader that was not really stopped would deliver them
    await broker.service.start(() => undefined);
    await produce(topic, 5, 5, 'w');
    await sleep(quietAfterStopMs);
    expect(watched.callsAfterStop()).toBe(0);
    expect(watched.values()).toHaveLength(5);
  });

  it('stop() while the broker is frozen (SIGSTOP) resolves within a bound, and nothing is called back afterwards', {
    timeout: 180_000,
  }, async () => {
    const topic = await topicWith(5, 'f');
    const watched = watchedReader(topic);
    watched.reader.seek(0, '0');
    await waitFor('the first records', () => watched.values().length === 5);
    // a fetch is waiting at the broker (maxWait) or about to be sent when the broker freezes
    const pid = (await broker.service.status()).pid as number;
    expect(pid).toBeTypeOf('number');
    const frozen = await freezeProcess(pid);
    try {
      await sleep(500);
      const took = await watched.stop();
      expect(took).toBeLessThan(stopBoundMs);
    } finally {
      frozen.thaw();
    }
    await produce(topic, 5, 5, 'f');
    await sleep(quietAfterStopMs);
    expect(watched.callsAfterStop()).toBe(0);
    expect(watched.values()).toHaveLength(5);
  });

  it('readTopic aborted while the broker is down ends within a bound (a tailer stopping in an outage)', {
    timeout: 180_000,
  }, async () => {
    const topic = await topicWith(5, 'r');
    let callsAfterAbort = 0;
    const timedAbort = async (abort: AbortController, reading: Promise<Map<number, string>>) => {
      const started = performance.now();
      abort.abort();
      const positions = await reading;
      expect(performance.now() - started).toBeLessThan(stopBoundMs);
      return positions;
    };

    // reading when the broker goes down
    const whileReading = new AbortController();
    let delivered = 0;
    const reading = kafka.readTopic({
      topic,
      until: 'follow',
      from: new Map([[0, '2']]),
      signal: whileReading.signal,
      onBatch: (records) => {
        if (whileReading.signal.aborted) callsAfterAbort++;
        delivered += records.length;
      },
    });
    await waitFor('the records after offset 2', () => delivered === 3);
    await broker.service.stop();
    try {
      await sleep(1000);
      expect(await timedAbort(whileReading, reading)).toEqual(new Map([[0, '5']]));

      // started while the broker is down: stopped before it could read the topic's offsets
      const beforeReading = new AbortController();
      const starting = kafka.readTopic({
        topic,
        until: 'follow',
        from: new Map([[0, '2']]),
        signal: beforeReading.signal,
        onBatch: () => void callsAfterAbort++,
      });
      await sleep(500);
      expect(await timedAbort(beforeReading, starting)).toEqual(new Map([[0, '2']]));
    } finally {
      await broker.service.start(() => undefined);
    }
    await produce(topic, 5, 5, 'r');
    await sleep(quietAfterStopMs);
    expect(callsAfterAbort).toBe(0);
  });

  it('readTopic following a topic waits for a broker that is down when it starts', {
    timeout: 180_000,
  }, async () => {
    const topic = await topicWith(3, 's');
    await broker.service.stop();
    const abort = new AbortController();
    const seen: string[] = [];
    let failure: unknown;
    const reading = kafka
      .readTopic({
        topic,
        until: 'follow',
        signal: abort.signal,
        onBatch: (records) => void seen.push(...records.map((record) => String(record.value))),
      })
      .catch((error) => {
        failure = error;
      });
    try {
      await sleep(3000);
      expect(failure).toBeUndefined();
    } finally {
      await broker.service.start(() => undefined);
    }
    await produce(topic, 3, 2, 's');
    await waitFor('the records, old and new', () => seen.length === 5, { timeoutMs: 60_000 });
    abort.abort();
    await reading;
    expect(failure).toBeUndefined();
    expect(seen).toEqual(['s0', 's1', 's2', 's3', 's4']);
  });
});
