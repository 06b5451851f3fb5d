/**
 * Producers with acks=all. The idempotent producer replaces its kafkajs producer after a failed
 * send: kafkajs rolls the sequence numbers back on failure, and a later, different batch reusing
 * a sequence the broker already stored would be acknowledged as a duplicate without being written.
 * A fresh producer id makes that impossible. A send is bounded by `sendTimeoutMs` whatever
 * Kafka does; a producer that overran it is replaced the same way.
 */
import { CompressionTypes, type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';
import { SluiceError } from '../errors.ts';
import { groupBy } from '../group-by.ts';
import type { KafkaHandle } from './client.ts';
import { kafkaCall, translateKafkaError } from './errors.ts';
import type { Compression, OutgoingRecord, PartitionWrite, TopicPartitionOffset } from './types.ts';

export interface ProducerOptions {
  /** How long one send may take, retries included, before it fails. @default 10000 */
  sendTimeoutMs?: number;
  /** @default 'none' */
  compression?: Compression;
}

export interface KafkaProducer {
  /** Sends records (any topics, partitions) with acks=all; resolves once all are acknowledged. */
  send(records: readonly OutgoingRecord[]): Promise<PartitionWrite[]>;
  disconnect(): Promise<void>;
}

const compressionTypes = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

export function toMessage(record: OutgoingRecord): Message {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers,
    partition: record.partition,
    timestamp: record.timestamp === undefined ? undefined : String(record.timestamp),
  };
}

/** Groups records by topic, keeping their order, as kafkajs' sendBatch wants them. */
export function byTopic(records: readonly OutgoingRecord[]) {
  return [...groupBy(records, (record) => record.topic)].map(([topic, group]) => ({
    topic,
    messages: group.map(toMessage),
  }));
}

/** Kafka refuses a record batch over message.max.bytes (1 MiB by default): each request stays below. */
const maxRequestBytes = 900 * 1024;

function estimatedSize(record: OutgoingRecord): number {
  let size = 32 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + value.length + 4;
  return size;
}

/** Consecutive chunks of at most ~900 KiB (a larger record goes alone), order kept. */
export function chunkRecords(records: readonly OutgoingRecord[]): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = estimatedSize(record);
    if (chunk.length > 0 && bytes + size > maxRequestBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Sends records chunk by chunk; one PartitionWrite per partition per chunk, in order. */
async function sendChunked(
  records: readonly OutgoingRecord[],
  sendOne: (topicMessages: ReturnType<typeof byTopic>) => Promise<RecordMetadata[]>,
): Promise<PartitionWrite[]> {
  const writes: PartitionWrite[] = [];
  for (const chunk of chunkRecords(records)) {
    const counts = new Map<string, number>();
    for (const record of chunk) {
      if (record.partition === undefined) continue;
      const id = `${record.topic}/${record.partition}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const entry of await sendOne(byTopic(chunk))) {
      writes.push({
        topic: entry.topicName,
        partition: entry.partition,
        baseOffset: entry.baseOffset ?? '-1',
        count: counts.get(`${entry.topicName}/${entry.partition}`),
      });
    }
  }
  return writes;
}

export async function createIdempotentProducer(
  handle: KafkaHandle,
  options: ProducerOptions = {},
): Promise<KafkaProducer> {
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const compression = compressionTypes[options.compression ?? 'none'];
  const open = async () => {
    const producer = handle.kafka.producer({
      idempotent: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      // bounded, so a send fails (and its request gets a 5xx) instead of waiting forever
      retry: { retries: 6, initialRetryTime: 100, maxRetryTime: Math.max(1000, sendTimeoutMs / 4) },
    });
    await kafkaCall('connecting the producer', () => producer.connect());
    return producer;
  };
  let current: Promise<Producer> = open();

  /** Replaces `failed` by a fresh producer, unless that already happened. */
  const replace = (failed: Promise<Producer>) => {
    if (current !== failed) return;
    current = open();
    // the replacement may fail too (Kafka down): the next send will try again
    current.catch(() => undefined);
    failed.then((producer) => producer.disconnect()).catch(() => undefined);
  };

  const attempt = async (records: readonly OutgoingRecord[]) => {
    const used = current;
    let producer: Producer;
    try {
      producer = await used;
    } catch (error) {
      replace(used);
      throw translateKafkaError(error, 'connecting the producer');
    }
    try {
      return await sendChunked(records, (topicMessages) =>
        producer.sendBatch({ topicMessages, acks: -1, timeout: sendTimeoutMs, compression }),
      );
    } catch (error) {
      replace(used);
      throw translateKafkaError(error, 'producing records');
    }
  };

  return {
    async send(records) {
      // kafkajs' own timeouts do not bound a send (a frozen broker holds it for minutes): this does
      const used = current;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          // a producer stuck on a frozen broker would hold every later send: start afresh
          replace(used);
          reject(
            new SluiceError(
              'KAFKA_REQUEST_FAILED',
              `Kafka did not acknowledge within ${sendTimeoutMs} ms (sendTimeoutMs); the records may still be written`,
            ),
          );
        }, sendTimeoutMs);
      });
      try {
        return await Promise.race([attempt(records), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
    async disconnect() {
      await (await current.catch(() => undefined))?.disconnect();
    },
  };
}

export interface Transaction {
  send(records: readonly OutgoingRecord[]): Promise<PartitionWrite[]>;
  /** Commits the consumer group's input offsets as part of this transaction. */
  sendOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  begin(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

/**
 * A transactional producer. Connecting it runs InitProducerId for its transactional id, which
 * fences any older producer with the same id and aborts that producer's open transaction.
 */
export interface TransactionalProducerOptions {
  transactionTimeoutMs?: number;
  compression?: Compression;
  /** Asked once connected, right before fencing: false gives up without fencing anybody. */
  mayFence?: () => boolean;
}

export async function createTransactionalProducer(
  handle: KafkaHandle,
  transactionalId: string,
  options: TransactionalProducerOptions = {},
): Promise<TransactionalProducer> {
  const compression = compressionTypes[options.compression ?? 'none'];
  const producer = handle.kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: options.transactionTimeoutMs ?? 60_000,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await kafkaCall(`connecting transactional producer ${transactionalId}`, () => producer.connect());
  // connecting can take long (Kafka down); whoever asked may have lost the right to fence meanwhile,
  // and fencing then would abort the new owner's open transaction
  if (options.mayFence && !options.mayFence()) {
    await producer.disconnect().catch(() => undefined);
    throw new SluiceError(
      'KAFKA_FENCED',
      `not fencing ${transactionalId}: this instance lost the right to (its lease or its partition) while connecting`,
    );
  }
  // kafkajs initializes the producer id lazily; do it now so that connecting is what fences
  const warmUp = await kafkaCall(`initializing transactions for ${transactionalId}`, () =>
    producer.transaction(),
  );
  await kafkaCall(`initializing transactions for ${transactionalId}`, () => warmUp.abort());

  return {
    transactionalId,
    async begin() {
      const transaction = await kafkaCall(`beginning a transaction (${transactionalId})`, () =>
        producer.transaction(),
      );
      return {
        send: (records) =>
          kafkaCall(`producing in a transaction (${transactionalId})`, async () =>
            sendChunked(records, (topicMessages) =>
              transaction.sendBatch({ topicMessages, acks: -1, compression }),
            ),
          ),
        sendOffsets: (groupId, offsets) =>
          kafkaCall(`adding offsets to a transaction (${transactionalId})`, () =>
            transaction.sendOffsets({
              consumerGroupId: groupId,
              topics: [...groupBy(offsets, (entry) => entry.topic)].map(([topic, entries]) => ({
                topic,
                partitions: entries.map(({ partition, offset }) => ({ partition, offset })),
              })),
            }),
          ),
        commit: () => kafkaCall(`committing a transaction (${transactionalId})`, () => transaction.commit()),
        abort: () => kafkaCall(`aborting a transaction (${transactionalId})`, () => transaction.abort()),
      };
    },
    disconnect: () => producer.disconnect(),
  };
}

const defaultPartitioner = Partitioners.DefaultPartitioner();
const partitionCache = new Map<string, number>();

/** The partition the Java client's default partitioner (murmur2) picks for a key (memoized: keys repeat). */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  const id = typeof key === 'string' ? `${partitions}:${key}` : undefined;
  const cached = id === undefined ? undefined : partitionCache.get(id);
  if (cached !== undefined) return cached;
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [],
    isr: [],
  }));
  const partition = defaultPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
  if (id !== undefined) {
    if (partitionCache.size >= 100_000) partitionCache.clear();
    partitionCache.set(id, partition);
  }
  return partition;
}
