/**
 * Wires a processor instance: the runtime (app, Kafka, registry, metrics), the HTTP port
 * (health, metrics, state queries, status), and either plain group membership or, with
 * `cluster.enabled`, a slot's active/standby role. `sluice processor` calls `startProcessor`.
 */
import { hostname } from 'node:os';
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
) {
  const sumOf = async (metric: {
    get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }>;
  }) => (await metric.get()).values;
  const recordsIn = (await sumOf(runtime.metrics.recordsIn)).reduce((sum, entry) => sum + entry.value, 0);
  return {
    address,
    role: instance?.role() ?? 'active',
    slot: instance?.slot,
    epoch: instance?.epoch(),
    /** Leases held: the own slot's, and borrowed ones of slots without a live instance. */
    leases: instance?.heldSlots() ?? [],
    recordsIn,
    tasks: (processing?.manager.statuses() ?? []).map((task) => ({
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
  let active: ActiveProcessing | undefined;
  let instance: SlotInstance | undefined;
  let advertised = '';
  const processing = () => (instance ? instance.active() : active);
  const postgres = postgresPoolConfig(loaded, { max: 4, connectionTimeoutMillis: 2000 });
  const pool = config.cluster.enabled ? new pg.Pool(postgres) : undefined;
  pool?.on('error', (error) => runtime.logger.warn({ err: error }, 'Postgres connection error'));

  const auth = config.processor.http.auth;
  const keysFile = auth.keysFile ?? config.router.auth.keysFile ?? 'api-keys.yaml';
  const keys = auth.enabled
    ? createKeyStore(resolve(loaded.baseDir, keysFile), { logger: runtime.logger })
    : undefined;
  const http = buildProcessorHttp({
    auth: keys ? { keys, openProbes: auth.openProbes } : undefined,
    https: loaded.secrets.processorHttps,
    metrics: runtime.metricsRegistry,
    notReadyReason: () => {
      if (instance && instance.role() !== 'active')
        return instance.role() === 'standby' ? undefined : instance.role();
      const current = processing();
      if (!current) return instance ? 'no lease held' : 'not yet in the consumer group';
      const waiting = current.manager.statuses().filter((task) => task.state !== 'running');
      return waiting.length > 0
        ? waiting
            .map(
              (task) => `partition ${task.partition} ${task.state}${task.reason ? ` (${task.reason})` : ''}`,
            )
            .join('; ')
        : undefined;
    },
    routes: (app) => {
      registerQueryRoutes(app, {
        appId: runtime.appId,
        compiled: runtime.compiled,
        partitions: runtime.sourcePartitions,
        selfAddress: () => advertised,
        localStore(partition, allowStale) {
          const store = processing()?.manager.storeFor(partition);
          if (store) return { store, role: 'active' };
          const standby = allowStale ? instance?.standbyStore(partition) : undefined;
          return standby ? { store: standby, role: 'standby', lag: () => instance!.lag() } : undefined;
        },
        ownerAddress: async (partition) => instance?.ownerAddress(partition),
        identityOf,
      });
      app.get('/', async (_request, reply) => reply.type('text/html').send(statusPage));
      app.get('/v1/status', async () => ({
        report: await buildStatusReport({
          appId: runtime.appId,
          inputTopic: runtime.compiled.source.topic,
          admin: runtime.admin,
          pool,
          schema: config.database.schema,
        }),
        instance: await instanceStatus(runtime, advertised, instance, processing()),
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
    if (pool) {
      // cluster mode: the state directory is the instance's identity (and one process's only)
      claim = await claimStateDirectory(config.processor.stateDir, runtime.appId);
      instance = await startSlotInstance(runtime, {
        instanceId: claim.instanceId,
        address: advertised,
        pool,
        postgres,
        onFatalError: options.onFatalError,
      });
    } else {
      active = await startGroupProcessing(runtime, { onFatalError: options.onFatalError });
    }
  } catch (error) {
    keys?.close();
    await http.close();
    await pool?.end();
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
      await pool?.end();
      await runtime.close();
      await claim?.release();
      await http.close();
      keys?.close();
      runtime.logger.info('stopped');
    },
  };
}
