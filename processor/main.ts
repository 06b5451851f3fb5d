/**
 * Wires a processor instance: config, app, Kafka, registry, tasks, HTTP; the only place that
 * builds these. `sluice processor` calls `startProcessor` and keeps it running.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedConfig } from '../common/config/load.ts';
import { SluiceError } from '../common/errors.ts';
import { createKafkaClient } from '../common/kafka/index.ts';
import type { Logger } from '../common/log.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { createSchemaRegistryClient } from '../schemas/registry.ts';
import { createSerde } from '../schemas/serde.ts';
import { loadStreams } from '../schemas/streams.ts';
import { compileApp } from './app/compile.ts';
import type { App } from './app/define.ts';
import { buildProcessorHttp } from './http-server.ts';
import { createProcessorMetrics } from './metrics.ts';
import { createTaskManager } from './task/task-manager.ts';
import { ensureAppTopics } from './topic-setup.ts';
import { consumerGroup } from './topics.ts';

export async function loadApp(modulePath: string): Promise<App> {
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(resolve(modulePath)).href);
  } catch (error) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `cannot load app module ${modulePath}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const app = module.default as Partial<App> | undefined;
  if (!app || typeof app.id !== 'string' || !app.plan) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `${modulePath} must export default defineApp({ id, source, pipeline })`,
    );
  }
  return app as App;
}

export interface RunningProcessor {
  /** Commits, closes the stores, leaves the group. */
  stop(): Promise<void>;
  httpAddress: string;
}

export async function startProcessor(loaded: LoadedConfig, logger: Logger): Promise<RunningProcessor> {
  const { config } = loaded;
  const settings = config.processor;
  if (!settings.app)
    throw new SluiceError('CONFIG_INVALID', 'no app to run: pass --app <module> (or processor.app)');
  const loadedApp = await loadApp(settings.app);
  const app = settings.appId ? { ...loadedApp, id: settings.appId } : loadedApp;
  const compiled = compileApp(app, loadStreams(config.streams, loaded.baseDir));
  const log = logger.child({ app: app.id });
  const guarantee = settings.guarantee;
  const commitIntervalMs = settings.commitIntervalMs ?? (guarantee === 'exactly_once' ? 100 : 1000);

  const kafka = createKafkaClient({ ...config.kafka, clientId: `${config.kafka.clientId}-${app.id}` }, log);
  const admin = await kafka.connectAdmin();
  await ensureAppTopics(admin, compiled, config.kafka.replicationFactor);
  const registry = createSchemaRegistryClient(config.registry.url);
  const sinkSchemaId = await registry.register(compiled.sink.subject, compiled.sink.schema);
  const serde = createSerde(config.registry.url);

  const registryMetrics = createMetricsRegistry({ app: app.id });
  const metrics = createProcessorMetrics(registryMetrics);
  const consumer = kafka.createGroupConsumer({
    groupId: consumerGroup(app.id),
    topic: compiled.source.topic,
    partitionsInParallel: settings.partitionsInParallel,
    isolation: 'read_committed',
    sessionTimeoutMs: settings.sessionTimeoutMs,
  });
  const sharedProducer = guarantee === 'at_least_once' ? await kafka.createProducer() : undefined;
  const manager = createTaskManager({
    compiled,
    kafka,
    admin,
    serde,
    encodeSink: serde.encoderFor(sinkSchemaId, compiled.sink.type),
    guarantee,
    atLeastOnce: sharedProducer ? { producer: sharedProducer, consumer } : undefined,
    stateDir: settings.stateDir,
    commitIntervalMs,
    cacheMaxEntries: settings.cacheMaxEntries,
    epoch: () => 0,
    logger: log,
    metrics,
    consumer,
  });

  let consuming = false;
  const http = buildProcessorHttp({
    metrics: registryMetrics,
    notReadyReason: () => {
      if (!consuming) return 'not yet in the consumer group';
      const starting = manager.owned().filter((partition) => !manager.running().includes(partition));
      return starting.length > 0 ? `restoring partitions ${starting.join(', ')}` : undefined;
    },
  });
  const httpAddress = await http.listen({ host: settings.http.host, port: settings.http.port });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    log.info('stopping: finishing the current batches and committing');
    await consumer.stop();
    await manager.closeAll({ commit: true });
    await consumer.disconnect();
    await sharedProducer?.disconnect();
    await admin.disconnect();
    await http.close();
    log.info('stopped');
  };

  await consumer.start({
    onAssignment: (partitions) => manager.onAssignment(partitions),
    onBatch: (batch) => manager.onBatch(batch),
    onFatalError: (error) => {
      log.fatal({ err: error }, 'the consumer stopped and will not recover: exiting');
      process.exit(1);
    },
  });
  consuming = true;
  log.info(
    { guarantee, commitIntervalMs, http: httpAddress, stateDir: settings.stateDir },
    'processor running',
  );
  return { stop, httpAddress };
}
