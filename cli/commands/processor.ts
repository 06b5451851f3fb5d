/** `sluice processor`: runs one processor instance of an app. */
import { Command, Option } from 'commander';
import { saveCompileCacheSoon } from '../../common/compile-cache.ts';
import { type ConfigOverride, loadConfig } from '../../common/config/load.ts';
import { createLogger } from '../../common/log.ts';
import { startUntilSignal } from '../../common/shutdown.ts';
import { startProcessor } from '../../processor/main.ts';

interface ProcessorFlags {
  app?: string;
  appId?: string;
  config?: string;
  stateDir?: string;
  guarantee?: string;
  commitIntervalMs?: string;
  port?: string;
  brokers?: string;
  registry?: string;
  database?: string;
  slot?: string;
  slots?: string;
  workers?: string;
}

export function processorCommand(): Command {
  return new Command('processor')
    .description("run a processor instance of an app (joins the app's consumer group)")
    .option('--app <module>', 'the app module, e.g. apps/api-analytics.ts')
    .option('--app-id <id>', 'run the app under another id (its own group, changelogs and dead letters)')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--state-dir <dir>', 'local state directory')
    .addOption(
      new Option('--guarantee <mode>', 'processing guarantee').choices(['exactly_once', 'at_least_once']),
    )
    .option('--commit-interval-ms <ms>', 'how often each partition commits')
    .option('--port <port>', 'HTTP port for health, readiness and metrics (0: any free port)')
    .option('--brokers <list>', 'Kafka brokers, host:port[,host:port]')
    .option('--registry <url>', 'schema registry URL (Confluent-compatible API)')
    .option(
      '--slot <n|auto>',
      'run as an active/standby of this slot (enables the cluster); auto: host name ordinal',
    )
    .option('--slots <n>', 'number of slots (cluster.slots)')
    .option('--workers <n>', 'worker threads for the tasks (processor.workers; 1: all on the main thread)')
    .option('--database <url>', 'PostgreSQL URL for leases (cluster mode)')
    .action(async (flags: ProcessorFlags) => {
      const overrides: ConfigOverride[] = [
        { path: ['processor', 'app'], value: flags.app },
        { path: ['processor', 'appId'], value: flags.appId },
        { path: ['processor', 'stateDir'], value: flags.stateDir },
        { path: ['processor', 'guarantee'], value: flags.guarantee },
        {
          path: ['processor', 'commitIntervalMs'],
          value: flags.commitIntervalMs && Number(flags.commitIntervalMs),
        },
        { path: ['processor', 'http', 'port'], value: flags.port && Number(flags.port) },
        { path: ['kafka', 'brokers'], value: flags.brokers?.split(',') },
        { path: ['registry', 'url'], value: flags.registry },
        { path: ['database', 'url'], value: flags.database },
        { path: ['cluster', 'slots'], value: flags.slots && Number(flags.slots) },
        { path: ['processor', 'workers'], value: flags.workers && Number(flags.workers) },
        {
          path: ['cluster', 'slot'],
          value: flags.slot && (flags.slot === 'auto' ? 'auto' : Number(flags.slot)),
        },
        { path: ['cluster', 'enabled'], value: flags.slot !== undefined ? true : undefined },
      ];
      const loaded = loadConfig({ file: flags.config, overrides });
      const logger = createLogger({ name: 'sluice-processor', level: loaded.config.log.level });
      await startUntilSignal(
        () =>
          startProcessor(loaded, logger, {
            onFatalError(error) {
              logger.fatal({ err: error }, 'reading stopped and will not recover: exiting');
              process.exit(1);
            },
          }),
        { logger },
      );
      saveCompileCacheSoon();
    });
}
