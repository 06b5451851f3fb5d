/**
 * What every processor instance sets up once, whatever its role: the app (loaded and checked
 * against the streams), Kafka, topics, the registry and serde, metrics. Only entry points call this.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Registry } from 'prom-client';
import { kafkaConnectionOf } from '../common/config/connections.ts';
import type { LoadedConfig } from '../common/config/load.ts';
import type { SluiceConfig } from '../common/config/schema.ts';
import { SluiceError } from '../common/errors.ts';
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../common/kafka/index.ts';
import type { Logger } from '../common/log.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { createSchemaRegistryClient } from '../schemas/registry.ts';
import { createSerde, type Serde } from '../schemas/serde.ts';
import { loadStreams } from '../schemas/streams.ts';
import { type CompiledApp, compileApp } from './app/compile.ts';
import type { App } from './app/define.ts';
import { type AppPartitions, appPartitions } from './app-partitions.ts';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.ts';
import { type GlobalTables, startGlobalTables } from './tables/global-tables.ts';
import { ensureAppTopics } from './topic-setup.ts';

export interface ProcessorRuntime {
  config: SluiceConfig;
  compiled: CompiledApp;
  appId: string;
  logger: Logger;
  kafka: KafkaClient;
  admin: KafkaAdmin;
  serde: Serde;
  /** The Avro encoder of each sink stream (its schema registered at start), by stream name. */
  encoders: ReadonlyMap<string, (value: unknown) => Buffer>;
  metricsRegistry: Registry;
  metrics: ProcessorMetrics;
  /** The app's global tables, followed from start whatever the role (a standby's stay warm). */
  tables: GlobalTables;
  commitIntervalMs: number;
  sourcePartitions: number;
  /** The partition count of each sub-topology and repartition topic. */
  partitions: AppPartitions;
  close(): Promise<void>;
}

export async function loadApp(modulePath: string): Promise<App> {
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(resolve(modulePath)).href);
  } catch (error) {
    // the installed package loads a TypeScript app with Node's type stripping (22.18 and later)
    const hint =
      (error as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[mc]?ts$/.test(modulePath)
        ? ` (Node.js ${process.versions.node} cannot load TypeScript by itself: use Node.js 22.18 or later, or compile the app to JavaScript)`
        : '';
    throw new SluiceError(
      'CONFIG_INVALID',
      `cannot load app module ${modulePath}: ${(error as Error).message}${hint}`,
      { cause: error },
    );
  }
  const app = module.default as Partial<App> | undefined;
  if (!app || typeof app.id !== 'string' || !app.graph) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `${modulePath} must export default defineApp({ id, source, pipeline })`,
    );
  }
  return app as App;
}

export async function prepareRuntime(
  loaded: LoadedConfig,
  logger: Logger,
  /** In a worker thread: the main thread has set up the topics and reports the process metrics. */
  options: { inWorker?: boolean } = {},
): Promise<ProcessorRuntime> {
  const { config } = loaded;
  const settings = config.processor;
  if (!settings.app)
    throw new SluiceError('CONFIG_INVALID', 'no app to run: pass --app <module> (or processor.app)');
  const loadedApp = await loadApp(settings.app);
  const appId = settings.appId ?? config.cluster.groupId ?? loadedApp.id;
  const compiled = compileApp({ ...loadedApp, id: appId }, loadStreams(config.streams, loaded.baseDir), {
    repartitionPartitions: config.processor.repartitionPartitions,
  });
  const log = logger.child({ app: appId });

  const kafka = createKafkaClient(kafkaConnectionOf(loaded, `${config.kafka.clientId}-${appId}`), log);
  const admin = await kafka.connectAdmin();
  try {
    // a worker thread's topics were made (and checked) by the main thread
    const partitions = options.inWorker
      ? appPartitions(compiled, (await admin.partitionCount(compiled.source.topic))!)
      : await ensureAppTopics(admin, compiled, config.kafka.replicationFactor);
    const registry = createSchemaRegistryClient(config.registry.url, loaded.secrets.registryAuthorization);
    const serde = createSerde(config.registry.url, { authorization: loaded.secrets.registryAuthorization });
    const encoders = new Map<string, (value: unknown) => Buffer>();
    for (const sink of compiled.sinks) {
      const schemaId = await registry.register(sink.subject, sink.schema);
      encoders.set(sink.name, serde.encoderFor(schemaId, sink.type));
    }
    const metricsRegistry = createMetricsRegistry({ app: appId }, { defaultMetrics: !options.inWorker });
    const metrics = createProcessorMetrics(metricsRegistry);
    // last: nothing after it can fail and leave the tables' readers running
    const tables = await startGlobalTables({
      tables: compiled.topology.tables,
      kafka,
      admin,
      serde,
      logger: log,
      metrics,
    });
    return {
      config,
      compiled,
      appId,
      logger: log,
      kafka,
      admin,
      serde,
      encoders,
      metricsRegistry,
      metrics,
      tables,
      commitIntervalMs: settings.commitIntervalMs ?? (settings.guarantee === 'exactly_once' ? 100 : 1000),
      sourcePartitions: partitions.source,
      partitions,
      async close() {
        await tables.stop();
        await admin.disconnect();
      },
    };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}
