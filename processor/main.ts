/**
 * Wires a processor instance: the runtime (app, Kafka, registry, metrics), the HTTP port, and
 * either plain group membership or, with `cluster.enabled`, a slot's active/standby role.
 * `sluice processor` calls `startProcessor` and keeps it running.
 */
import { hostname } from 'node:os';
import type { LoadedConfig } from '../common/config/load.ts';
import type { Logger } from '../common/log.ts';
import { type ActiveProcessing, startActive } from './active.ts';
import { type SlotInstance, startSlotInstance } from './coordination/slot-instance.ts';
import { buildProcessorHttp } from './http-server.ts';
import { prepareRuntime } from './runtime.ts';

export interface RunningProcessor {
  /** Commits, closes the stores, leaves the group (and releases the lease). */
  stop(): Promise<void>;
  httpAddress: string;
}

export async function startProcessor(loaded: LoadedConfig, logger: Logger): Promise<RunningProcessor> {
  const runtime = await prepareRuntime(loaded, logger);
  const { config } = runtime;
  let active: ActiveProcessing | undefined;
  let instance: SlotInstance | undefined;

  const http = buildProcessorHttp({
    metrics: runtime.metricsRegistry,
    notReadyReason: () => {
      if (instance && instance.role() !== 'active')
        return instance.role() === 'standby' ? undefined : 'starting';
      const processing = instance ? instance.active() : active;
      if (!processing) return 'not yet in the consumer group';
      const { manager } = processing;
      const starting = manager.owned().filter((partition) => !manager.running().includes(partition));
      return starting.length > 0 ? `restoring partitions ${starting.join(', ')}` : undefined;
    },
  });
  const httpAddress = await http.listen({
    host: config.processor.http.host,
    port: config.processor.http.port,
  });
  const port = Number(new URL(httpAddress).port);
  const advertised = config.cluster.advertisedAddress ?? `http://${hostname()}:${port}`;

  try {
    if (config.cluster.enabled) {
      instance = await startSlotInstance(runtime, advertised);
    } else {
      active = await startActive(runtime, {
        epoch: () => 0,
        canCommit: () => true,
        onFatalError: (error) => {
          runtime.logger.fatal({ err: error }, 'the consumer stopped and will not recover: exiting');
          process.exit(1);
        },
      });
    }
  } catch (error) {
    await http.close();
    await runtime.close();
    throw error;
  }
  runtime.logger.info(
    {
      guarantee: config.processor.guarantee,
      commitIntervalMs: runtime.commitIntervalMs,
      http: httpAddress,
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
      await runtime.close();
      await http.close();
      runtime.logger.info('stopped');
    },
  };
}
