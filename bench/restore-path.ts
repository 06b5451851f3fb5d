/**
 * Micro-benchmark of the restore path alone (`npm run bench:restore-path`): a changelog like a
 * count store's (N keys, a small value, the `sluice.epoch` header, written in transactions) is
 * filled once, then restored again and again into empty RocksDB stores through the processor's own
 * `restoreFromChangelog`, all partitions side by side as tasks do. No processes, no peer: it
 * compares variants of the restore path with each other (alternating A/B runs), not with Kafka
 * Streams; the `restore` workload of `npm run bench` gives the ratio.
 *
 * Two variants, run alternately: `key-values` is the processor's restore (keys and values only,
 * common/kafka/record-batch-decoder.ts); `records` is the restore as it was before it (kafkajs
 * decodes every record: offset, timestamp, headers), kept here as the baseline.
 *
 * Flags: --keys 1000000 --partitions 6 --runs 3 --topic <reuse an existing filled topic>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKafkaClient } from '../common/kafka/index.ts';
import { silentLogger } from '../common/log.ts';
import { restoreFromChangelog } from '../processor/changelog/restorer.ts';
import { openRocksDbStore } from '../processor/state/rocksdb-store.ts';
import { type KeyValueStore, toStoreChanges } from '../processor/state/store.ts';
import { benchServices } from './lib/env.ts';
import { summary } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '6' },
    runs: { type: 'string', default: '3' },
    topic: { type: 'string' },
  },
});
const keys = Number(values.keys);
const partitions = Number(values.partitions);
const services = await benchServices();
const kafka = createKafkaClient(
  { brokers: services.brokers.split(','), clientId: 'bench-restore-path' },
  silentLogger(),
);

async function fill(topic: string) {
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([{ topic, partitions, config: { 'cleanup.policy': 'compact' } }]);
  await admin.disconnect();
  const chunk = 20_000;
  const producers = await Promise.all(
    [...Array(partitions).keys()].map((partition) =>
      kafka.createTransactionalProducer(`${topic}-filler-${partition}`),
    ),
  );
  for (let start = 0; start < keys; start += chunk * partitions) {
    await Promise.all(
      producers.map((producer, partition) =>
        (async () => {
          const records = [];
          for (let i = start + partition; i < Math.min(keys, start + chunk * partitions); i += partitions) {
            records.push({
              topic,
              partition,
              key: Buffer.from(`tenant-${i.toString().padStart(8, '0')}.example.com`),
              value: Buffer.from(JSON.stringify({ count: 1, lastEventTime: 1767225600000 + i })),
              headers: { 'sluice.epoch': '1' },
            });
          }
          const transaction = await producer.begin();
          await transaction.send(records);
          await transaction.commit();
        })(),
      ),
    );
  }
  await Promise.all(producers.map((producer) => producer.disconnect()));
}

/** The restore before the key/value decoder: kafkajs' records, adapted per record. */
async function restoreRecords(store: KeyValueStore, topic: string, partition: number) {
  let records = 0;
  await kafka.readTopic({
    topic,
    partitions: [partition],
    until: 'end',
    isolation: 'read_committed',
    maxBytesPerPartition: 8 * 1024 * 1024,
    onBatch: async (batch, _partition, next) => {
      await store.write(toStoreChanges(batch as { key: Buffer; value: Buffer | null }[]), next);
      records += batch.length;
    },
  });
  return { records };
}

type Variant = 'key-values' | 'records';

async function restoreAll(topic: string, variant: Variant): Promise<{ ms: number; records: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-restore-path-'));
  try {
    const started = performance.now();
    const results = await Promise.all(
      [...Array(partitions).keys()].map(async (partition) => {
        const store = await openRocksDbStore(join(dir, String(partition)));
        try {
          if (variant === 'records') return await restoreRecords(store, topic, partition);
          return await restoreFromChangelog({
            kafka,
            store,
            topic,
            partition,
            from: undefined,
            logger: silentLogger(),
          });
        } finally {
          await store.close();
        }
      }),
    );
    return {
      ms: performance.now() - started,
      records: results.reduce((sum, result) => sum + result.records, 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const topic = values.topic ?? `bench-restore-path-${keys}-${partitions}-${Date.now()}`;
if (!values.topic) {
  console.log(`filling ${topic} with ${keys} changelog records`);
  await fill(topic);
}
const variants: Variant[] = ['records', 'key-values'];
const rates = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
for (let run = 0; run < Number(values.runs); run++) {
  // alternated: the variant that ran first runs last in the next round
  for (const variant of run % 2 === 0 ? variants : [...variants].reverse()) {
    const { ms, records } = await restoreAll(topic, variant);
    if (records !== keys) throw new Error(`${variant}: restored ${records} records, expected ${keys}`);
    const rate = Math.round(records / (ms / 1000));
    rates.get(variant)!.push(rate);
    console.log(`run ${run + 1}, ${variant}: ${records} records in ${Math.round(ms)} ms = ${rate} records/s`);
  }
}
for (const variant of variants) {
  const { median, min, max } = summary(rates.get(variant)!);
  console.log(
    `${variant}: median ${median} records/s (${min}–${max}) over ${rates.get(variant)!.length} runs`,
  );
}
console.log(`topic ${topic}`);
process.exit(0);
