/**
 * Pre-fills a topic with seeded Request events in the Confluent wire format, as fast as the
 * producer allows, before any timed run (the generator must not compete for CPU with what is
 * measured).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import type { KafkaClient } from '../../common/kafka/index.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import {
  type GeneratorOptions,
  generateRequests,
  type RequestEvent,
  takeRequests,
} from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';

const repo = join(import.meta.dirname, '..', '..');
/** An Avro schema of schemas/, parsed. */
export const readSchema = (file: string) => JSON.parse(readFileSync(join(repo, 'schemas', file), 'utf8'));
export const requestSchema = readSchema('Request.avsc');

export async function prefillRequests(options: {
  kafka: KafkaClient;
  registryUrl: string;
  topic: string;
  partitions: number;
  count: number;
  /** Seeded generator settings, or the events themselves. */
  generator: GeneratorOptions | Iterable<RequestEvent>;
  progress?: (done: number) => void;
}): Promise<void> {
  const admin = await options.kafka.connectAdmin();
  await admin.ensureTopics([{ topic: options.topic, partitions: options.partitions }]);
  await admin.disconnect();
  const id = await createSchemaRegistryClient(options.registryUrl).register(
    `${options.topic}-value`,
    requestSchema,
  );
  const encode = createSerde(options.registryUrl).encoderFor(id, avro.Type.forSchema(requestSchema));
  const producer = await options.kafka.createProducer({ sendTimeoutMs: 60_000 });
  // schema id for peers that write the same framing
  const events =
    Symbol.iterator in options.generator
      ? (options.generator as Iterable<RequestEvent>)[Symbol.iterator]()
      : generateRequests(options.generator as GeneratorOptions);
  let done = 0;
  while (done < options.count) {
    const size = Math.min(20_000, options.count - done);
    const batch = [];
    for (let i = 0; i < size; i++) {
      const event = events.next().value!;
      batch.push({ topic: options.topic, key: event.userTenantDomain, value: encode(event) });
    }
    await producer.send(batch);
    done += size;
    options.progress?.(done);
  }
  await producer.disconnect();
}

/** One event per tenant `t-0`, `t-1`, ...: a store of `count` keys, one record each. */
export function* distinctTenants(count: number): Generator<RequestEvent> {
  const template = takeRequests(
    { seed: 3, tenants: 1, apis: 1, startTime: Date.UTC(2026, 0, 1), stepMs: 1 },
    1,
  )[0]!;
  for (let i = 0; i < count; i++)
    yield { ...template, userTenantDomain: `t-${i}`, requestTimestamp: template.requestTimestamp + i };
}

/**
 * A fresh topic `bench-<workload>-<stamp>` holding one Request per tenant (`keys` tenants): the
 * input of the workloads that need a store of many keys (restore, recovery). Returns its name,
 * which also names the workload's app.
 */
export async function prefillDistinctTenantsTopic(options: {
  kafka: KafkaClient;
  registryUrl: string;
  workload: string;
  keys: number;
  partitions: number;
  log: (message: string) => void;
}): Promise<string> {
  const topic = `bench-${options.workload}-${Date.now().toString(36)}`;
  options.log(`${options.workload}: pre-filling ${topic} with ${options.keys} distinct tenants`);
  await prefillRequests({
    kafka: options.kafka,
    registryUrl: options.registryUrl,
    topic,
    partitions: options.partitions,
    count: options.keys,
    generator: distinctTenants(options.keys),
  });
  return topic;
}
