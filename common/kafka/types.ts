/**
 * The Kafka vocabulary the rest of sluice speaks. Nothing outside common/kafka/ sees kafkajs
 * types, so the client underneath can be replaced.
 */

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers: PEM texts (not paths); no `ca` means the system's CAs. */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** @default 3000 */
  connectionTimeoutMs?: number;
  /** @default 30000 */
  requestTimeoutMs?: number;
}

/** read_committed hides aborted transactions' records and the open transactions' tail. */
export type Isolation = 'read_committed' | 'read_uncommitted';

export type HeaderValue = string | Buffer;

export interface OutgoingRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue>;
  /** Leave unset to use the Java client's default partitioner: murmur2(key) mod partitions. */
  partition?: number;
  /** Milliseconds since the epoch; the broker's time when unset. */
  timestamp?: number;
}

/** Where the broker put a contiguous run of records of one request in one partition. */
export interface PartitionWrite {
  topic: string;
  partition: number;
  /** Offset of the first record of that run. */
  baseOffset: string;
  /** Records in that run, when the records were sent with explicit partitions. */
  count?: number;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
  timestamp: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it. */
  offset: string;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** @default 1 on a single broker; 3 in production */
  replicationFactor?: number;
  config?: Record<string, string>;
}

export type Compression = 'none' | 'gzip';
