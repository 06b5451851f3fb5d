/**
 * W0 (the ceiling): Kafka's own kafka-producer-perf-test (acks=all, idempotent, seed event size)
 * and kafka-consumer-perf-test on this machine and broker; the router's rate is compared with it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { copyDependencies } from '../../dev/maven.ts';
import { runCommand } from '../../dev/processes.ts';
import { devSettings } from '../../dev/settings.ts';
import { takeRequests } from '../../schemas/request-generator.ts';
import type { BenchContext } from '../lib/context.ts';
import { requestSchema } from '../lib/prefill.ts';

const version = '4.3.1';

async function toolsClasspath(log: (message: string) => void): Promise<string> {
  const libs = join(devSettings().cacheDir, `kafka-tools-${version}`, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    log(`broker: downloading Kafka's tools ${version} from Maven Central`);
    await copyDependencies(
      join(import.meta.dirname, '..', 'kafka-tools', 'pom.xml'),
      libs,
      {},
      `Kafka tools ${version}`,
    );
    writeFileSync(join(libs, '.complete'), '');
  }
  return `${libs}/*`;
}

export interface BrokerLimit {
  producerRecordsPerSecond: number;
  consumerRecordsPerSecond: number;
  recordSize: number;
}

export async function brokerLimit(context: BenchContext): Promise<BrokerLimit> {
  const classpath = await toolsClasspath(context.log);
  const count = context.quick ? 100_000 : 1_000_000;
  const type = avro.Type.forSchema(requestSchema);
  const sample = takeRequests(
    { seed: 1, tenants: 1000, apis: 20, startTime: Date.UTC(2026, 0, 1), stepMs: 5 },
    1000,
  );
  const recordSize = Math.round(
    sample.reduce((sum, event) => sum + type.toBuffer(event).length + 5, 0) / sample.length,
  );
  const topic = `bench-broker-${Date.now().toString(36)}`;
  const admin = await createKafkaClient(
    { brokers: context.services.brokers.split(','), clientId: 'bench-broker' },
    silentLogger(),
  ).connectAdmin();
  await admin.ensureTopics([{ topic, partitions: 6 }]);
  await admin.disconnect();
  context.log(`broker: kafka-producer-perf-test, ${count} records of ${recordSize} bytes`);
  const produced = await runCommand(
    'java',
    [
      '-cp',
      classpath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(count),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${context.services.brokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    { what: 'kafka-producer-perf-test' },
  );
  const producer = /([\d.]+) records\/sec/.exec(produced.stdout.trim().split('\n').at(-1) ?? '');
  context.log('broker: kafka-consumer-perf-test');
  const consumed = await runCommand(
    'java',
    [
      '-cp',
      classpath,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      context.services.brokers,
      '--topic',
      topic,
      '--messages',
      String(count),
      '--timeout',
      '60000',
    ],
    { what: 'kafka-consumer-perf-test' },
  );
  // header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
  const row =
    consumed.stdout
      .trim()
      .split('\n')
      .at(-1)
      ?.split(',')
      .map((cell) => cell.trim()) ?? [];
  if (!producer || row.length < 6)
    throw new Error(`could not read the perf tools' output:\n${produced.stdout}\n${consumed.stdout}`);
  return {
    producerRecordsPerSecond: Number(producer[1]),
    consumerRecordsPerSecond: Number(row[5]),
    recordSize,
  };
}
