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
