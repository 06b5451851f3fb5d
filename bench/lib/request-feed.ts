/**
 * A steady feed of seeded Request events (Confluent wire format) into a topic, at a fixed rate
 * until stopped: the load under which the failover workload kills processes. Sends that fail (a
 * broker hiccup) are dropped; outputs are checked against what the input topic really holds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import { type KafkaClient, partitionForKey } from '../../common/kafka/index.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { generateRequests } from '../../schemas/request-generator.ts';
import { createSerde } from '../../schemas/serde.ts';
import { requestSchema } from './prefill.ts';

export interface RequestFeed {
  stop(): Promise<void>;
}

export async function startRequestFeed(options: {
  kafka: KafkaClient;
  registryUrl: string;
  topic: string;
  partitions: number;
  /** Events per second, sent in tenths every 100 ms. */
  rate: number;
}): Promise<RequestFeed> {
  const { kafka, topic, partitions, rate } = options;
  const id = await createSchemaRegistryClient(options.registryUrl).register(`${topic}-value`, requestSchema);
  const encode = createSerde(options.registryUrl).encoderFor(id, avro.Type.forSchema(requestSchema));
  const producer = await kafka.createProducer();
  const events = generateRequests({
    seed: 5,
    tenants: 1000,
    apis: 5,
    startTime: Date.now(),
    stepMs: 1000 / rate,
  });
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: rate / 10 }, () => events.next().value!);
      await producer
        .send(
          batch.map((event) => ({
            topic,
            key: event.userTenantDomain,
            value: encode(event),
            partition: partitionForKey(event.userTenantDomain, partitions),
          })),
        )
        .catch(() => undefined);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      if (!running) return;
      running = false;
      await loop;
      await producer.disconnect();
    },
  };
}
