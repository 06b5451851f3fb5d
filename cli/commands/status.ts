/**
 * `sluice status --app <id>`: slots, lease holders, epochs, standbys, the lag of every topic the
 * app's group reads (input and repartition topics), and with --tasks each holder's tasks.
 */
import { Command } from 'commander';
import pg from 'pg';
import { kafkaConnectionOf, postgresPoolConfig } from '../../common/config/connections.ts';
import { loadConfig } from '../../common/config/load.ts';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import { buildStatusReport, holderTasks, renderStatus } from '../../processor/status/status-report.ts';

export function statusCommand(): Command {
  return new Command('status')
    .description(
      "show an app's slots (holders, epochs, lease ages, standbys and their lag) and the lag of every topic it reads",
    )
    .requiredOption('--app <id>', 'the app id (consumer group)')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--no-database', 'skip PostgreSQL (apps run without the cluster)')
    .option('--json', 'print the report as JSON')
    .option('--tasks', "ask each lease holder for its tasks (GET /v1/status on the holder's address)")
    .option('--api-key <key>', 'operator key for --tasks when processor.http.auth is on')
    .action(
      async (flags: {
        app: string;
        config?: string;
        database: boolean;
        json?: boolean;
        tasks?: boolean;
        apiKey?: string;
      }) => {
        const loaded = loadConfig({ file: flags.config });
        const { config } = loaded;
        const kafka = createKafkaClient(kafkaConnectionOf(loaded, 'sluice-status'), silentLogger());
        const admin = await kafka.connectAdmin();
        const pool = flags.database ? new pg.Pool(postgresPoolConfig(loaded, { max: 2 })) : undefined;
        try {
          const report = await buildStatusReport({
            appId: flags.app,
            admin,
            pool,
            schema: config.database.schema,
          });
          if (flags.tasks) report.holders = await holderTasks(report, flags.apiKey);
          process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
        } finally {
          await admin.disconnect();
          await pool?.end();
        }
      },
    );
}
