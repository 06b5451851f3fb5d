/**
 * Wires a processor instance: the runtime (app, Kafka, registry, metrics), the HTTP port
 * (health, metrics, state queries, status), and either plain group membership or, with
 * `cluster.enabled`, a slot's active/standby role. `sluice processor` calls `startProcessor`.
 */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import { createKeyStore } from '../common/auth/key-store.ts';
import { postgresPoolConfig } from '../common/config/connections.ts';
import type { LoadedConfig } from '../common/config/load.ts';
import type { Logger } from '../common/log.ts';
import { type ActiveProcessing, startGroupProcessing } from './active.ts';
import { claimStateDirectory, type StateDirectoryClaim } from './coordination/instance-identity.ts';
import { type SlotInstance, startSlotInstance } from './coordination/slot-instance.ts';
import { identityOf } from './http-auth.ts';
import { buildProcessorHttp } from './http-server.ts';
import { registerQueryRoutes } from './query/query-routes.ts';
import { type ProcessorRuntime, prepareRuntime } from './runtime.ts';
import { statusPage } from './status/status-page.ts';
import { buildStatusReport } from './status/status-report.ts';
import { pooledMetrics, pooledRegistry } from './workers/pool-metrics.ts';
import { startPooledProcessing } from './workers/pooled-processing.ts';
import { startWorkerPool, type WorkerPool } from './workers/worker-pool.ts';

export interface RunningProcessor {
  /** Commits, closes the stores, leaves the group (and releases the lease). */
  stop(): Promise<void>;
  httpAddress: string;
}

/** What this instance itself is doing, for the status page. */
async function instanceStatus(
  runtime: ProcessorRuntime,
  address: string,
  instance: SlotInstance | undefined,
  processing: ActiveProcessing | undefined,
  pool: WorkerPool | undefined,
) {
  // with worker threads the tasks count in the workers' registries
  const recordsMetric = pool
    ? (await pooledRegistry(runtime.metricsRegistry, pool)).getSingleMetric(
        'sluice_processor_records_in_total',
      )
    : runtime.metrics.recordsIn;
  const values = (await recordsMetric?.get())?.values ?? [];
  const recordsIn = values.reduce((sum, entry) => sum + entry.value, 0);
  return {
    address,
    workers: pool?.workers.length ?? 1,
    role: instance?.role() ?? 'active',
    slot: instance?.slot,
    epoch: instance?.epoch(),
    /** Leases held: the own slot's, and borrowed ones of slots without a live instance. */
    leases: instance?.heldSlots() ?? [],
    recordsIn,
    tasks: (processing?.manager.statuses() ?? []).map((task) => ({
      task: task.task,
      partition: task.partition,
      state: task.state,
      reason: task.reason ?? null,
      restoreDone: task.restoreDone,
      restoreTotal: task.restoreTotal,
      inputReset: task.inputReset ?? null,
    })),
  };
}

export async function startProcessor(
  loaded: LoadedConfig,
  logger: Logger,
  options: {
    /** A failure the processor cannot recover from (reading stopped for good): the caller exits. */
    onFatalError(error: unknown): void;
  },
): Promise<RunningProcessor> {
  const runtime = await prepareRuntime(loaded, logger);
  const { config } = runtime;
  const workerCount = config.processor.workers ?? availableParallelism();
  let pool: WorkerPool | undefined;
  try {
    pool =
      workerCount > 1
        ? await startWorkerPool({
            count: workerCount,
            loaded,
            logLevel: config.log.level,
            logger: runtime.logger,
            onFatalError: options.onFatalError,
          })
        : undefined;
  } catch (error) {
    await runtime.close();
    throw error;
  }
  let active: ActiveProcessing | undefined;
  let instance: SlotInstance | undefined;
  let advertised = '';
  const processing = () => (instance ? instance.active() : active);
  const postgres = postgresPoolConfig(loaded, { max: 4, connectionTimeoutMillis: 2000 });
  const postgresPool = config.cluster.enabled ? new pg.Pool(postgres) : undefined;
  postgresPool?.on('error', (error) => runtime.logger.warn({ err: error }, 'Postgres connection error'));

  const auth = config.processor.http.auth;
  const keysFile = auth.keysFile ?? config.router.auth.keysFile ?? 'api-keys.yaml';
  const keys = auth.enabled
    ? createKeyStore(resolve(loaded.baseDir, keysFile), { logger: runtime.logger })
    : undefined;
  const http = buildProcessorHttp({
    auth: keys ? { keys, openProbes: auth.openProbes } : undefined,
    https: loaded.secrets.processorHttps,
    metrics: pool ? pooledMetrics(runtime.metricsRegistry, pool) : runtime.metricsRegistry,
    notReadyReason: () => {
      if (instance && instance.role() !== 'active')
        return instance.role() === 'standby' ? undefined : instance.role();
      const current = processing();
      if (!current) return instance ? 'no lease held' : 'not yet in the consumer group';
      const waiting = current.manager.statuses().filter((task) => task.state !== 'running');
      return waiting.length > 0
        ? waiting
            .map((task) => `task ${task.task} ${task.state}${task.reason ? ` (${task.reason})` : ''}`)
            .join('; ')
        : undefined;
    },
    routes: (app) => {
      registerQueryRoutes(app, {
        appId: runtime.appId,
        compiled: runtime.compiled,
        partitions: runtime.sourcePartitions,
        topicPartitions: (topic) => runtime.partitions.topics.get(topic) ?? runtime.sourcePartitions,
        selfAddress: () => advertised,
        localStore(partition, name, allowStale) {
          const store = processing()?.manager.storeFor(partition, name);
          if (store) return { store, role: 'active' };
          const standby = allowStale ? instance?.standbyStore(partition, name) : undefined;
          return standby ? { store: standby, role: 'standby', lag: () => instance!.lag() } : undefined;
        },
        localTable: (partition, table) => processing()?.manager.tableFor(partition, table),
        globalTables: runtime.tables,
        ownerAddress: async (partition) => instance?.ownerAddress(partition),
        identityOf,
      });
      app.get('/', async (_request, reply) => reply.type('text/html').send(statusPage));
      app.get('/v1/status', async () => ({
        report: await buildStatusReport({
          appId: runtime.appId,
          inputTopic: runtime.compiled.source.topic,
          topics: runtime.compiled.topology.repartitions.map((each) => each.topic),
          admin: runtime.admin,
          pool: postgresPool,
          schema: config.database.schema,
        }),
        instance: await instanceStatus(runtime, advertised, instance, processing(), pool),
      }));
    },
  });
  const httpAddress = await http.listen({
    host: config.processor.http.host,
    port: config.processor.http.port,
  });
  advertised =
    config.cluster.advertisedAddress ??
    `${loaded.secrets.processorHttps ? 'https' : 'http'}://${hostname()}:${new URL(httpAddress).port}`;

  let claim: StateDirectoryClaim | undefined;
  try {
    if (postgresPool) {
      // cluster mode: the state directory is the instance's identity (and one process's only)
      claim = await claimStateDirectory(config.processor.stateDir, runtime.appId);
      instance = await startSlotInstance(runtime, {
        instanceId: claim.instanceId,
        address: advertised,
        pool: postgresPool,
        postgres,
        onFatalError: options.onFatalError,
        startActive: pool && ((_runtime, started) => startPooledProcessing(pool!, 'assigned', started)),
      });
    } else {
      active = pool
        ? await startPooledProcessing(pool, 'group', { onFatalError: options.onFatalError })
        : await startGroupProcessing(runtime, { onFatalError: options.onFatalError });
    }
  } catch (error) {
    await pool?.close();
    keys?.close();
    await http.close();
    await postgresPool?.end();
    await runtime.close();
    await claim?.release();
    throw error;
  }
  runtime.logger.info(
    {
      guarantee: config.processor.guarantee,
      commitIntervalMs: runtime.commitIntervalMs,
      http: httpAddress,
      address: advertised,
      workers: workerCount,
      stateDir: config.processor.stateDir,
      slot: instance?.slot,
      role: instance?.role(),
    },
    'processor running',
  );

  let stopped = false;
  return {
    httpAddress,
    async stop() {
      if (stopped) return;
      stopped = true;
      runtime.logger.info('stopping: finishing the current batches and committing');
      await instance?.stop();
      await active?.stop({ commit: true });
      await pool?.close();
      await postgresPool?.end();
      await runtime.close();
      await claim?.release();
      await http.close();
      keys?.close();
      runtime.logger.info('stopped');
    },
  };
}
