/** `sluice reset --app <id>`: rewind an app's input, delete its changelogs, wipe its local state. */
import { Command } from 'commander';
import pg from 'pg';
import { kafkaConnectionOf, postgresPoolConfig } from '../../common/config/connections.ts';
import { loadConfig } from '../../common/config/load.ts';
import { SluiceError } from '../../common/errors.ts';
import { createKafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import {
  assertNotRunning,
  executeReset,
  planReset,
  type ResetTarget,
} from '../../processor/reset/app-reset.ts';
import { consumerGroup } from '../../processor/topics.ts';

interface ResetFlags {
  app: string;
  config?: string;
  toDatetime?: string;
  toOffsets?: string;
  topic?: string;
  deleteDlq?: boolean;
  stateDir?: string;
  dryRun?: boolean;
  database: boolean;
  json?: boolean;
}

function target(flags: ResetFlags): ResetTarget {
  if (flags.toDatetime && flags.toOffsets)
    throw new SluiceError('CONFIG_INVALID', 'give --to-datetime or --to-offsets, not both');
  if (flags.toDatetime) {
    const timestamp = Date.parse(flags.toDatetime);
    if (Number.isNaN(timestamp))
      throw new SluiceError('CONFIG_INVALID', `--to-datetime ${flags.toDatetime} is not an ISO date-time`);
    return { to: 'datetime', timestamp };
  }
  if (flags.toOffsets) {
    const offsets = new Map<number, string>();
    for (const pair of flags.toOffsets.split(',')) {
      const match = /^(\d+):(\d+)$/.exec(pair.trim());
      if (!match)
        throw new SluiceError('CONFIG_INVALID', `--to-offsets wants partition:offset pairs, got "${pair}"`);
      offsets.set(Number(match[1]), match[2]!);
    }
    return { to: 'offsets', offsets };
  }
  return { to: 'earliest' };
}

export function resetCommand(): Command {
  return new Command('reset')
    .description(
      "reset an app like Kafka Streams' reset tool: rewind its input, delete its changelogs, wipe local state",
    )
    .requiredOption('--app <id>', 'the app id')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option(
      '--to-datetime <iso>',
      'rewind to the first records at or after this time (default: the earliest)',
    )
    .option('--to-offsets <list>', 'rewind to these offsets, e.g. 0:100,1:250')
    .option('--topic <name>', "the app's input topic (default: the topic its group committed on)")
    .option('--delete-dlq', 'also delete the dead-letter topic')
    .option('--state-dir <dir>', 'local state directory to wipe (default processor.stateDir)')
    .option('--no-database', 'skip the lease check (apps run without the cluster)')
    .option('--dry-run', 'show the plan and change nothing')
    .option('--json', 'print the plan as JSON')
    .action(async (flags: ResetFlags) => {
      const loaded = loadConfig({ file: flags.config });
      const { config } = loaded;
      const kafka = createKafkaClient(kafkaConnectionOf(loaded, 'sluice-reset'), silentLogger());
      const admin = await kafka.connectAdmin();
      const pool = flags.database ? new pg.Pool(postgresPoolConfig(loaded, { max: 2 })) : undefined;
      try {
        await assertNotRunning({
          appId: flags.app,
          admin,
          pool,
          schema: config.database.schema,
          leaseTtlMs: config.cluster.heartbeatInterval * config.cluster.heartbeatMaxRetry,
        });
        const plan = await planReset({
          appId: flags.app,
          admin,
          target: target(flags),
          inputTopic: flags.topic,
          deleteDeadLetters: Boolean(flags.deleteDlq),
          stateDir: flags.stateDir ?? config.processor.stateDir,
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
        else {
          process.stdout.write(`${flags.dryRun ? 'would reset' : 'resetting'} app ${plan.app}\n`);
          if (!plan.inputTopic)
            process.stdout.write('  input: nothing committed yet, no offsets to rewind\n');
          const inputs = [{ topic: plan.inputTopic, offsets: plan.offsets }, ...plan.otherInputs];
          for (const { topic, offsets } of inputs) {
            for (const entry of offsets) {
              process.stdout.write(
                `  ${topic}[${entry.partition}]: ${entry.from ?? '(none)'} → ${entry.to}\n`,
              );
            }
          }
          for (const topic of plan.deleteTopics) process.stdout.write(`  delete topic ${topic}\n`);
          for (const directory of plan.deleteDirectories) process.stdout.write(`  delete ${directory}\n`);
        }
        if (!flags.dryRun) await executeReset(plan, admin, consumerGroup(flags.app));
      } finally {
        await admin.disconnect();
        await pool?.end();
      }
    });
}
