/**
 * Running counts per key as the two engines write them (sluice's keyed-count: Avro TenantCount;
 * Kafka Streams' count: a string key and an 8-byte big-endian long), and the probe that checks a
 * restored store by content: one more input record for a sample of keys, after which each sampled
 * key's outputs must rise strictly and end at exactly the number of records it has in the input
 * (an empty or stale store ends lower; a record applied twice repeats a count or ends higher).
 * Both engines read the same input, so a probe counts for both: `previous` is what the input
 * held for a probed key before this probe, whoever sent the earlier ones.
 */
import type { IncomingRecord, KafkaClient } from '../../common/kafka/index.ts';
import type { RequestEvent } from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';
import { describeDiff, diffOutputs } from './output-diff.ts';
import { distinctTenants, prefillRequests } from './prefill.ts';
import { readAll } from './read-all.ts';
import type { CountOutput } from './running-count-check.ts';

export type CountEngine = 'sluice' | 'kafka-streams';

export async function decodeCountOutputs(
  registryUrl: string,
  records: readonly IncomingRecord[],
  engine: CountEngine,
): Promise<CountOutput[]> {
  if (engine === 'kafka-streams') {
    return records.map((record) => ({
      key: record.key!.toString('utf8'),
      count: Number(record.value!.readBigInt64BE()),
    }));
  }
  const serde = createSerde(registryUrl);
  await serde.prepare(records.map((record) => record.value));
  return records.map((record) => {
    const value = serde.decode(record.value) as { userTenantDomain: string; count: number };
    return { key: value.userTenantDomain, count: Number(value.count) };
  });
}

/** Every `keys / size`-th tenant of `distinctTenants(keys)`: spread over all partitions. */
export function probeKeys(keys: number, size: number): number[] {
  const step = Math.max(1, Math.floor(keys / size));
  return Array.from({ length: Math.min(size, keys) }, (_, i) => i * step);
}

export interface Probe {
  /** Output end offsets before the probe was sent (outputs from here on answer it). */
  marks: Map<number, string>;
  /** Tenant → the count its next output must carry. */
  expected: Map<string, number>;
}

/** Sends one more record for each probed tenant, which has `previous` records in the input so far. */
export async function sendProbe(options: {
  kafka: KafkaClient;
  registryUrl: string;
  input: string;
  output: string;
  partitions: number;
  tenants: readonly number[];
  previous: number;
}): Promise<Probe> {
  const admin = await options.kafka.connectAdmin();
  const marks = new Map(
    (await admin.topicOffsets(options.output)).map((entry) => [entry.partition, entry.high]),
  );
  await admin.disconnect();
  const wanted = new Set(options.tenants);
  const events: RequestEvent[] = [];
  let index = 0;
  for (const event of distinctTenants(Math.max(...options.tenants) + 1)) {
    if (wanted.has(index++)) events.push(event);
  }
  await prefillRequests({
    kafka: options.kafka,
    registryUrl: options.registryUrl,
    topic: options.input,
    partitions: options.partitions,
    count: events.length,
    generator: events,
  });
  return {
    marks,
    expected: new Map(events.map((event) => [event.userTenantDomain, options.previous + 1])),
  };
}

/**
 * Reads the outputs written since the probe (call once the engine committed the whole input) and
 * compares each probed key's last count exactly with the expected one; throws with the
 * differences when they are wrong.
 */
export async function verifyProbe(options: {
  kafka: KafkaClient;
  registryUrl: string;
  output: string;
  engine: CountEngine;
  probe: Probe;
}): Promise<string> {
  const records = await readAll(options.kafka, options.output, options.probe.marks);
  const outputs = await decodeCountOutputs(options.registryUrl, records, options.engine);
  const { finals, problems } = lastCounts(outputs);
  if (problems.length > 0) {
    throw new Error(`${options.engine}: the restored store is wrong: ${problems.slice(0, 10).join('; ')}`);
  }
  const expected = [...options.probe.expected].map(([key, count]) => ({ key, count }));
  const diff = diffOutputs(expected, finals, (entry) => entry.key);
  if (!diff.ok) {
    throw new Error(`${options.engine}: the restored store is wrong, its last counts ${describeDiff(diff)}`);
  }
  return `${expected.length} probed keys: counts rising to exactly the input's records per key`;
}

/**
 * Each key's last count, in output order (one key lives in one partition, so the order of each
 * partition is kept); a count that does not rise is a problem (a record applied twice).
 */
export function lastCounts(outputs: readonly CountOutput[]): { finals: CountOutput[]; problems: string[] } {
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const { key, count } of outputs) {
    const previous = last.get(key);
    if (previous !== undefined && count <= previous)
      problems.push(`key ${key}: count ${count} after ${previous}`);
    last.set(key, count);
  }
  return { finals: [...last].map(([key, count]) => ({ key, count })), problems };
}
