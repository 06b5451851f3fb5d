import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KafkaProducer, OutgoingRecord, PartitionWrite } from '../../../common/kafka/index.ts';
import { createPublisher } from '../../../router/publisher.ts';

/** A producer whose sends wait until the test settles them. */
function heldProducer() {
  const sends: { records: readonly OutgoingRecord[]; resolve: (writes: PartitionWrite[]) => void }[] = [];
  const producer: KafkaProducer = {
    send: (records) => new Promise((resolve) => sends.push({ records, resolve })),
    disconnect: async () => undefined,
  };
  return { producer, sends };
}

const record = (value: string): OutgoingRecord => ({
  topic: 't',
  partition: 0,
  key: 'k',
  value: Buffer.from(value),
});
const options = {
  maxRecords: 100,
  maxBytes: 1 << 20,
  lingerMs: 0,
  maxInFlightBytes: 1 << 20,
  deadlineMs: 5000,
};

describe('publisher deadline (sendTimeoutMs)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('answers a request stuck behind a batch at its deadline, and never sends it', async () => {
    const { producer, sends } = heldProducer();
    const publisher = createPublisher([producer], options);
    const first = publisher.publish([record('a')], 10);
    await vi.advanceTimersByTimeAsync(2000);
    const second = publisher.publish([record('b')], 10);
    const firstOutcome = first.catch((error) => error);
    const secondOutcome = second.catch((error) => error);

    await vi.advanceTimersByTimeAsync(3000);
    expect(await firstOutcome).toMatchObject({
      code: 'ROUTER_NOT_ACKNOWLEDGED',
      message: expect.stringContaining('some may still be written: retry with the same event ids'),
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await secondOutcome).toMatchObject({
      code: 'ROUTER_NOT_ACKNOWLEDGED',
      message: expect.stringContaining('none of them was sent'),
    });

    // the stuck send finally returns: only the first record was ever handed to the producer
    sends[0]!.resolve([{ topic: 't', partition: 0, baseOffset: '0', count: 1 }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sends.map((send) => send.records.map((r) => r.value!.toString()))).toEqual([['a']]);
    expect(publisher.inFlightBytes()).toBe(0);
  });

  it('answers with placements when Kafka acknowledges in time', async () => {
    const { producer, sends } = heldProducer();
    const publisher = createPublisher([producer], options);
    const published = publisher.publish([record('a'), record('b')], 20);
    await vi.advanceTimersByTimeAsync(4999);
    sends[0]!.resolve([{ topic: 't', partition: 0, baseOffset: '41', count: 2 }]);
    expect(await published).toEqual([
      { partition: 0, offset: '41' },
      { partition: 0, offset: '42' },
    ]);
    await vi.advanceTimersByTimeAsync(10_000);
  });
});
