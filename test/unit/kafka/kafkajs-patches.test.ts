/**
 * The shortcuts of patches/kafkajs+2.2.4.patch: offsets and timestamps added as numbers must equal
 * kafkajs' own 64-bit arithmetic, beyond 2^53 too; repeated headers still collect; varints written
 * in place decode to what was written, at every length, into buffers that start too small.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');
const Long = require('kafkajs/src/utils/long.js');
const Encoder = require('kafkajs/src/protocol/encoder.js');

interface Decoded {
  offset: string;
  timestamp: string;
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer | Buffer[]>;
}

function roundTrip(
  record: { offsetDelta: number; timestampDelta: number; headers?: Record<string, Buffer | Buffer[]> },
  batch: { firstOffset: string; firstTimestamp: string },
): Decoded {
  const encoded = encodeRecord({ ...record, key: Buffer.from('k'), value: Buffer.from('v') }).buffer;
  const body = new Decoder(encoded).readVarIntBytes();
  return decodeRecord(new Decoder(body), { ...batch, timestampType: 0, magicByte: 2 });
}

describe('kafkajs record decoding (patched)', () => {
  it('adds offset and timestamp deltas exactly, below and beyond 2^53', () => {
    for (const firstOffset of ['0', '41', '9007199254740990', '9007199254740993', '9223372036854775000']) {
      for (const offsetDelta of [0, 1, 7, 5000]) {
        const decoded = roundTrip(
          { offsetDelta, timestampDelta: offsetDelta * 3 },
          { firstOffset, firstTimestamp: '1767225600000' },
        );
        expect(decoded.offset).toBe((BigInt(firstOffset) + BigInt(offsetDelta)).toString());
        expect(decoded.timestamp).toBe((1767225600000n + BigInt(offsetDelta * 3)).toString());
      }
    }
    const old = roundTrip({ offsetDelta: 2, timestampDelta: 5 }, { firstOffset: '10', firstTimestamp: '-1' });
    expect(old.timestamp).toBe(Long.fromValue('-1').add(5).toString());
  });

  it('keeps every header, collecting a repeated name into an array', () => {
    const decoded = roundTrip(
      {
        offsetDelta: 0,
        timestampDelta: 0,
        headers: { a: Buffer.from('1'), b: [Buffer.from('2'), Buffer.from('3'), Buffer.from('4')] },
      },
      { firstOffset: '0', firstTimestamp: '0' },
    );
    expect(decoded.headers.a?.toString()).toBe('1');
    expect((decoded.headers.b as Buffer[]).map(String)).toEqual(['2', '3', '4']);
    expect(decoded.key.toString()).toBe('k');
    expect(decoded.value.toString()).toBe('v');
  });
});

describe('kafkajs varint encoding (patched)', () => {
  it('round-trips 32-bit varints and 64-bit varlongs at every length and sign', () => {
    const ints = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      127,
      128,
      8191,
      8192,
      2 ** 20,
      -(2 ** 20),
      2 ** 31 - 1,
      -(2 ** 31),
    ];
    const longs = [
      ...ints.map(String),
      '9007199254740993',
      '-9007199254740993',
      '9223372036854775807',
      '-9223372036854775808',
    ];
    // initial size 1: every write has to grow the buffer
    const encoder = new Encoder(1);
    for (const value of ints) encoder.writeVarInt(value);
    for (const value of longs) encoder.writeVarLong(Long.fromString(value));
    const decoder = new Decoder(encoder.buffer);
    expect(ints.map(() => decoder.readVarInt())).toEqual(ints);
    expect(longs.map(() => decoder.readVarLong().toString())).toEqual(longs);
    expect(decoder.offset).toBe(encoder.buffer.length);
  });
});

describe('kafkajs Kafka.cluster() (patched)', () => {
  const config = { clientId: 'patch-test', brokers: ['127.0.0.1:1'], logLevel: 0 };

  it('is our addition: stock kafkajs has no cluster()', () => {
    const { Kafka: StockKafka } = require('kafkajs-stock');
    expect((new StockKafka(config) as { cluster?: unknown }).cluster).toBeUndefined();
  });

  it('builds a cluster with the client configuration, no auto-creation, the isolation asked for', () => {
    const { Kafka } = require('kafkajs');
    const Cluster = require('kafkajs/src/cluster/index.js');
    const cluster = new Kafka(config).cluster({ isolationLevel: 0 });
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.isolationLevel).toBe(0);
    expect(
      cluster.brokerPool.createBroker({ connectionPool: {}, logger: cluster.rootLogger })
        .allowAutoTopicCreation,
    ).toBe(false);
    expect(cluster.brokerPool.metadataMaxAge).toBe(300_000);
    expect(cluster.isConnected()).toBe(false);
  });
});

describe('kafkajs aborted-transaction filtering (patched)', () => {
  const filterPatched = require('kafkajs/src/consumer/filterAbortedMessages.js');
  const filterStock = require('kafkajs-stock/src/consumer/filterAbortedMessages.js');
  const abortMarker = Buffer.from([0, 0, 0, 0]);
  const message = (offset: number, producerId: string, control = false) => ({
    offset: String(offset),
    key: control ? abortMarker : Buffer.from('k'),
    isControlRecord: control,
    batchContext: { producerId, inTransaction: true },
  });
  const visible = (filter: typeof filterPatched, messages: unknown[], abortedTransactions: unknown[]) =>
    filter({ messages, abortedTransactions })
      .filter((m: { isControlRecord: boolean }) => !m.isControlRecord)
      .map((m: { offset: string }) => m.offset);

  it('hides the records of every aborted transaction a fetch starts inside', () => {
    // producers 1 and 2 both began aborted transactions (at 10 and 11) before the fetch offset 12
    const messages = [message(12, '2'), message(13, '1'), message(14, '1', true), message(15, '2', true)];
    const aborted = [
      { producerId: '1', firstOffset: '10' },
      { producerId: '2', firstOffset: '11' },
    ];
    expect(visible(filterStock, messages, aborted)).toEqual(['12']);
    expect(visible(filterPatched, messages, aborted)).toEqual([]);
  });

  it('takes the aborted transactions in first-offset order, whatever order the broker lists them in', () => {
    // the broker lists them by the offset of their abort marker: 2 ended first, 1 began first
    const messages = [message(5, '1'), message(6, '2'), message(7, '2', true), message(8, '1', true)];
    const aborted = [
      { producerId: '2', firstOffset: '6' },
      { producerId: '1', firstOffset: '5' },
    ];
    expect(visible(filterStock, messages, aborted)).toEqual(['5']);
    expect(visible(filterPatched, messages, aborted)).toEqual([]);
  });

  it('keeps committed records and those of other producers', () => {
    const messages = [message(1, '3'), message(2, '1'), message(3, '1', true), message(4, '1')];
    const aborted = [{ producerId: '1', firstOffset: '2' }];
    expect(visible(filterPatched, messages, aborted)).toEqual(visible(filterStock, messages, aborted));
    expect(visible(filterPatched, messages, aborted)).toEqual(['1', '4']);
  });
});

describe('kafkajs FETCH record decoding: the end of the last record batch (patched)', () => {
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const decodePatched = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');
  const decodeStock = require('kafkajs-stock/src/protocol/requests/fetch/v4/decodeMessages.js');

  async function recordSet(): Promise<Buffer> {
    // offsets 100..104 of which compaction left 100 and 102, then 105..107 emptied entirely
    const first = await RecordBatch({
      firstOffset: Long.fromValue('100'),
      lastOffsetDelta: 4,
      records: [0, 2].map((offsetDelta) =>
        Record({ offsetDelta, key: Buffer.from('k'), value: Buffer.from('v') }),
      ),
    });
    const emptied = await RecordBatch({
      firstOffset: Long.fromValue('105'),
      lastOffsetDelta: 2,
      records: [],
    });
    const batches = Buffer.concat([first.buffer, emptied.buffer]);
    return new Encoder().writeInt32(batches.length).writeBuffer(batches).buffer;
  }

  it('gives the offset after the last whole batch, past records that compaction removed', async () => {
    const stock = await decodeStock(new Decoder(await recordSet()));
    const patched = await decodePatched(new Decoder(await recordSet()));
    expect(patched.map((record: Decoded) => record.offset)).toEqual(['100', '102']);
    expect(stock.map((record: Decoded) => record.offset)).toEqual(['100', '102']);
    expect(stock.batchesEnd).toBeUndefined();
    expect(patched.batchesEnd).toBe('108');
  });

  it('ignores a partial batch at the end of the response (the next fetch reads it whole)', async () => {
    const whole = await recordSet();
    const cut = Buffer.from(whole.subarray(0, whole.length - 10));
    cut.writeInt32BE(cut.length - 4, 0);
    const patched = await decodePatched(new Decoder(cut));
    expect(patched.map((record: Decoded) => record.offset)).toEqual(['100', '102']);
    expect(patched.batchesEnd).toBe('105');
  });
});

describe('kafkajs request queue (patched): no negative timeouts', () => {
  /** The delay the queue asks setTimeout for when it is not throttled and has nothing pending. */
  function scheduledDelay(modulePath: string): number {
    const RequestQueue = require(modulePath);
    const queue = new RequestQueue({
      instrumentationEmitter: { emit: () => undefined },
      maxInFlightRequests: 10,
      requestTimeout: 1000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'b:1',
      logger: {
        debug: () => undefined,
        warn: () => undefined,
        error: () => undefined,
        info: () => undefined,
      },
      isConnected: () => true,
    });
    const original = globalThis.setTimeout;
    let delay = Number.NaN;
    globalThis.setTimeout = ((_callback: () => void, ms: number) => {
      delay = ms;
      return original(() => undefined, 0);
    }) as typeof setTimeout;
    try {
      queue.scheduleCheckPendingRequests();
    } finally {
      globalThis.setTimeout = original;
    }
    return delay;
  }

  it('asks for a delay of 0, where stock kafkajs asks for about -Date.now() (Node 24 warns on each)', () => {
    expect(scheduledDelay('kafkajs-stock/src/network/requestQueue/index.js')).toBeLessThan(-1e12);
    expect(scheduledDelay('kafkajs/src/network/requestQueue/index.js')).toBe(0);
  });
});
