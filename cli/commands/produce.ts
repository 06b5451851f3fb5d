/** `sluice produce`: events from a file, stdin or the seed generator, through routers or straight to Kafka. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { kafkaConnectionOf } from '../../common/config/connections.ts';
import { loadConfig } from '../../common/config/load.ts';
import { SluiceError } from '../../common/errors.ts';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { createSerde } from '../../schemas/serde.ts';
import { loadStreams } from '../../schemas/streams.ts';
import { generatedEvents, readEventsFile, type SourcedEvent } from '../produce/event-source.ts';
import { kafkaSink, routerSink, type Sink } from '../produce/sinks.ts';
import { createProgress } from '../progress.ts';

interface ProduceFlags {
  stream: string;
  file?: string;
  generate?: boolean;
  router: string[];
  kafka?: boolean;
  count?: string;
  duration?: string;
  rate: string;
  tenants: string;
  apis: string;
  skew: string;
  seed: string;
  lateShare: string;
  invalidShare: string;
  batch: string;
  concurrency: string;
  apiKey?: string;
  config?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function openSink(flags: ProduceFlags): Promise<Sink> {
  if (flags.router.length > 0 && flags.kafka)
    throw new SluiceError('CONFIG_INVALID', 'choose --router or --kafka, not both');
  if (flags.router.length > 0)
    return routerSink({ urls: flags.router, stream: flags.stream, apiKey: flags.apiKey });
  if (!flags.kafka)
    throw new SluiceError('CONFIG_INVALID', 'say where to send: --router <url> (repeatable) or --kafka');
  const loaded = loadConfig({ file: flags.config });
  const stream = loadStreams(loaded.config.streams, loaded.baseDir).get(flags.stream);
  if (!stream) throw new SluiceError('CONFIG_INVALID', `no stream ${flags.stream} in the configuration`);
  const kafka = createKafkaClient(kafkaConnectionOf(loaded, 'sluice-produce'), silentLogger());
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([
    {
      topic: stream.topic,
      partitions: stream.partitions,
      replicationFactor: loaded.config.kafka.replicationFactor,
      // a table keeps the latest row per key
      ...(stream.table ? { config: { 'cleanup.policy': 'compact' } } : {}),
    },
  ]);
  const partitions = (await admin.partitionCount(stream.topic))!;
  await admin.disconnect();
  const id = await createSchemaRegistryClient(
    loaded.config.registry.url,
    loaded.secrets.registryAuthorization,
  ).register(stream.subject, stream.schema);
  return kafkaSink({
    producer: await kafka.createProducer(),
    stream,
    encode: createSerde(loaded.config.registry.url, {
      authorization: loaded.secrets.registryAuthorization,
    }).encoderFor(id, stream.type),
    partitions,
  });
}

function eventSource(flags: ProduceFlags): {
  events: Iterator<SourcedEvent>;
  total?: number;
  until?: number;
} {
  if (flags.file && flags.generate)
    throw new SluiceError('CONFIG_INVALID', 'choose --file or --generate, not both');
  if (flags.file) {
    const events = readEventsFile(flags.file);
    return { events: events[Symbol.iterator](), total: events.length };
  }
  if (!flags.generate)
    throw new SluiceError('CONFIG_INVALID', 'say what to send: --file <path|-> or --generate');
  const count = flags.count === undefined ? undefined : Number(flags.count);
  const duration = flags.duration === undefined ? undefined : Number(flags.duration);
  if (count === undefined && duration === undefined)
    throw new SluiceError('CONFIG_INVALID', 'with --generate give --count or --duration');
  return {
    events: generatedEvents({
      seed: Number(flags.seed),
      tenants: Number(flags.tenants),
      apis: Number(flags.apis),
      skew: Number(flags.skew),
      startTime: Date.now(),
      stepMs: Number(flags.rate) > 0 ? 1000 / Number(flags.rate) : 1,
      jitterMs: 5000,
      lateShare: Number(flags.lateShare),
      invalidShare: Number(flags.invalidShare),
    }),
    total: count,
    until: duration === undefined ? undefined : Date.now() + duration * 1000,
  };
}

export function produceCommand(): Command {
  return new Command('produce')
    .description(
      'send events from a file, stdin (-) or the seed generator, through routers or straight to Kafka',
    )
    .option('--stream <name>', 'the stream', 'Request')
    .option('--file <path>', 'a JSON array or NDJSON file of events; - for standard input')
    .option('--generate', 'generate seed Request events')
    .option('--router <url>', 'a router to send through (repeat for round robin)', collect, [])
    .option('--kafka', 'send straight to Kafka (Avro, Confluent wire format) using the config')
    .option('--count <n>', 'generate this many events')
    .option('--duration <seconds>', 'generate for this long')
    .option('--rate <events/s>', 'events per second (0: as fast as possible)', '0')
    .option('--tenants <n>', 'generated tenants', '100')
    .option('--apis <n>', 'generated APIs', '10')
    .option('--skew <0..1>', 'skew of tenant sizes (0: uniform)', '0.5')
    .option('--seed <n>', 'generator seed, for reproducible runs', '1')
    .option('--late-share <0..1>', 'share of generated events far behind in event time', '0')
    .option(
      '--invalid-share <0..1>',
      'share of generated events that break the schema (sent alone, expected to be rejected)',
      '0',
    )
    .option('--batch <n>', 'events per request', '100')
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--api-key <key>', 'API key for the routers')
    .option('-c, --config <file>', 'config file (for --kafka)')
    .addOption(new Option('--json', 'print the summary as JSON'))
    .action(async (flags: ProduceFlags) => {
      const source = eventSource(flags);
      const sink = await openSink(flags);
      const batchSize = Math.max(1, Number(flags.batch));
      const rate = Number(flags.rate);
      const progress = createProgress(`produce ${flags.stream}`);
      const summary = {
        sent: 0,
        accepted: 0,
        rejected: {} as Record<string, number>,
        expectedRejections: 0,
        unexpectedRejections: 0,
      };
      const started = Date.now();
      // batches of valid events; an invalid event goes alone (a router refuses a whole request for one)
      function* batches(): Generator<SourcedEvent[]> {
        let batch: SourcedEvent[] = [];
        let taken = 0;
        for (;;) {
          const out =
            (source.total !== undefined && taken >= source.total) ||
            (source.until !== undefined && Date.now() > source.until);
          const next = out ? undefined : source.events.next();
          if (!next || next.done) break;
          taken++;
          if (next.value.invalid) {
            if (batch.length > 0) yield batch;
            batch = [];
            yield [next.value];
          } else {
            batch.push(next.value);
            if (batch.length >= batchSize) {
              yield batch;
              batch = [];
            }
          }
        }
        if (batch.length > 0) yield batch;
      }
      const queue = batches();

      await Promise.all(
        Array.from({ length: Math.max(1, Number(flags.concurrency)) }, async () => {
          for (let next = queue.next(); !next.done; next = queue.next()) {
            const batch = next.value;
            summary.sent += batch.length;
            if (rate > 0) {
              const due = started + (summary.sent / rate) * 1000;
              if (due > Date.now()) await sleep(due - Date.now());
            }
            const outcome = await sink.send(batch.map((item) => item.event));
            summary.accepted += outcome.accepted;
            const expected = batch.every((item) => item.invalid);
            for (const [reason, count] of outcome.rejected) {
              summary.rejected[reason] = (summary.rejected[reason] ?? 0) + count;
              if (expected) summary.expectedRejections += count;
              else summary.unexpectedRejections += count;
            }
            progress.update(summary.sent, source.total ?? summary.sent);
          }
        }),
      );
      progress.stop();
      await sink.close();
      const seconds = (Date.now() - started) / 1000;
      const report = {
        ...summary,
        seconds,
        eventsPerSecond: Math.round(summary.accepted / Math.max(seconds, 0.001)),
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        process.stdout.write(
          `sent ${report.sent}, accepted ${report.accepted}, rejected ${report.sent - report.accepted} in ${seconds.toFixed(1)} s (${report.eventsPerSecond} events/s)\n`,
        );
        for (const [reason, count] of Object.entries(report.rejected))
          process.stdout.write(`  rejected ${count}: ${reason}\n`);
      }
      if (summary.unexpectedRejections > 0) process.exitCode = 1;
    });
}
