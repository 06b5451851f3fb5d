/**
 * `sluice router`: runs one router instance (HTTP ingest to Kafka): in this process, or as the
 * primary of `router.workers` worker processes (router/cluster/).
 */
import cluster from 'node:cluster';
import { Command } from 'commander';
import { saveCompileCacheSoon } from '../../common/compile-cache.ts';
import { type ConfigOverride, loadConfig } from '../../common/config/load.ts';
import { createLogger } from '../../common/log.ts';
import { startUntilSignal } from '../../common/shutdown.ts';
import { runRouterPrimary } from '../../router/cluster/supervisor.ts';
import { runRouterWorker } from '../../router/cluster/worker.ts';
import { startRouter } from '../../router/main.ts';

interface RouterFlags {
  config?: string;
  port?: string;
  host?: string;
  brokers?: string;
  registry?: string;
  auth: boolean;
  keysFile?: string;
}

export function routerCommand(): Command {
  return new Command('router')
    .description('run a router: POST /v1/streams/{stream}/events validated and published to Kafka')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--port <port>', 'HTTP port (router.port)')
    .option('--host <host>', 'address to listen on (router.host)')
    .option('--brokers <list>', 'Kafka brokers, host:port[,host:port]')
    .option('--registry <url>', 'schema registry URL (Confluent-compatible API)')
    .option('--no-auth', 'accept requests without API keys (local use only)')
    .option('--keys-file <file>', 'API keys file (router.auth.keysFile)')
    .action(async (flags: RouterFlags) => {
      const overrides: ConfigOverride[] = [
        { path: ['router', 'port'], value: flags.port && Number(flags.port) },
        { path: ['router', 'host'], value: flags.host },
        { path: ['kafka', 'brokers'], value: flags.brokers?.split(',') },
        { path: ['registry', 'url'], value: flags.registry },
        { path: ['router', 'auth', 'enabled'], value: flags.auth === false ? false : undefined },
        { path: ['router', 'auth', 'keysFile'], value: flags.keysFile },
      ];
      const loaded = loadConfig({ file: flags.config, overrides });
      const logger = createLogger({ name: 'sluice-router', level: loaded.config.log.level });
      const workers = loaded.config.router.workers;
      if (cluster.isWorker) return runRouterWorker(loaded, logger);
      if (workers > 1) {
        await startUntilSignal(
          () =>
            runRouterPrimary(loaded, logger, workers, {
              onFatalError(error) {
                logger.fatal({ err: error }, 'router stopped');
                process.exit(1);
              },
            }),
          { logger },
        );
        return;
      }
      await startUntilSignal(
        () =>
          startRouter(loaded, logger, {
            onFatalError(error) {
              logger.fatal({ err: error }, 'the registry refused a stream schema: exiting');
              process.exit(1);
            },
          }),
        { logger },
      );
      saveCompileCacheSoon();
    });
}
