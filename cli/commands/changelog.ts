/** `sluice changelog dump|replay`: read an app's store changelog, rebuild or verify a store from it. */
import { Command } from 'commander';
import { kafkaConnectionOf } from '../../common/config/connections.ts';
import { loadConfig } from '../../common/config/load.ts';
import { createKafkaClient, type KafkaClient } from '../../common/kafka/index.ts';
import { createLogger, silentLogger } from '../../common/log.ts';
import { replayIntoStore, verifyStore } from '../../processor/changelog/changelog-replay.ts';
import { type ChangelogEntry, toChangelogEntry } from '../../processor/changelog/changelog-view.ts';
import { changelogTopic } from '../../processor/topics.ts';
import { createProgress } from '../progress.ts';

interface CommonFlags {
  app: string;
  store: string;
  config?: string;
}

const withCommon = (command: Command) =>
  command
    .requiredOption('--app <id>', 'the app id')
    .option('--store <name>', "the store (see the app's aggregate options)", 'aggregates')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)');

function connect(flags: CommonFlags): { kafka: KafkaClient; topic: string; stateDir: string } {
  const loaded = loadConfig({ file: flags.config });
  const { config } = loaded;
  return {
    kafka: createKafkaClient(kafkaConnectionOf(loaded, 'sluice-changelog'), silentLogger()),
    topic: changelogTopic(flags.app, flags.store),
    stateDir: config.processor.stateDir,
  };
}

const numbers = (value: string) => value.split(',').map((part) => Number.parseInt(part.trim(), 10));

function renderEntry(entry: ChangelogEntry): string {
  const window = entry.windowStart === undefined ? '' : new Date(entry.windowStart).toISOString();
  const value = entry.value === null ? '(tombstone)' : JSON.stringify(entry.value);
  return [
    String(entry.partition).padEnd(4),
    entry.offset.padEnd(10),
    String(entry.epoch ?? '-').padEnd(6),
    JSON.stringify(entry.key).padEnd(40),
    window.padEnd(25),
    value,
  ].join(' ');
}

export function changelogCommand(): Command {
  const changelog = new Command('changelog').description("read, replay and verify an app's store changelog");

  withCommon(changelog.command('dump'))
    .description('print the decoded records of the changelog (a table, or --json lines)')
    .option('--partition <list>', 'only these partitions, e.g. 0,3')
    .option('--key <text>', 'only records whose key contains this text')
    .option('--from-offset <n>', 'start at this offset (in each selected partition)')
    .option('--to-offset <n>', 'stop before this offset')
    .option('-f, --follow', 'keep printing new records until Ctrl-C')
    .option('--json', 'one JSON object per line')
    .action(
      async (
        flags: CommonFlags & {
          partition?: string;
          key?: string;
          fromOffset?: string;
          toOffset?: string;
          follow?: boolean;
          json?: boolean;
        },
      ) => {
        const { kafka, topic } = connect(flags);
        const admin = await kafka.connectAdmin();
        const all = (await admin.topicOffsets(topic)).map((entry) => entry.partition);
        await admin.disconnect();
        const partitions = flags.partition ? numbers(flags.partition) : all;
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        if (!flags.json)
          process.stdout.write(
            `${'part offset     epoch  key'.padEnd(63)} ${'window start'.padEnd(25)} value\n`,
          );
        await kafka.readTopic({
          topic,
          partitions,
          from: flags.fromOffset ? new Map(partitions.map((p) => [p, flags.fromOffset!])) : undefined,
          until: flags.follow ? 'follow' : 'end',
          signal: abort.signal,
          onBatch: (records) => {
            for (const record of records) {
              if (flags.toOffset && BigInt(record.offset) >= BigInt(flags.toOffset)) continue;
              const entry = toChangelogEntry(record);
              if (flags.key && !JSON.stringify(entry.key).includes(flags.key)) continue;
              process.stdout.write(flags.json ? `${JSON.stringify(entry)}\n` : `${renderEntry(entry)}\n`);
            }
          },
        });
      },
    );

  withCommon(changelog.command('replay'))
    .description('rebuild stores from the changelog into a state directory, or --verify one against it')
    .option('--partition <list>', 'only these partitions, e.g. 0,3 (default: all)')
    .option('--state-dir <dir>', 'state directory to write (or verify); default processor.stateDir')
    .option('--verify', 'compare the stores in --state-dir with the changelog; exit 1 when they differ')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        flags: CommonFlags & { partition?: string; stateDir?: string; verify?: boolean; json?: boolean },
      ) => {
        const { kafka, topic, stateDir: configured } = connect(flags);
        const stateDir = flags.stateDir ?? configured;
        const admin = await kafka.connectAdmin();
        const all = (await admin.topicOffsets(topic)).map((entry) => entry.partition);
        await admin.disconnect();
        const partitions = flags.partition ? numbers(flags.partition) : all;
        const common = { kafka, changelogTopic: topic, appId: flags.app, store: flags.store, stateDir };

        if (flags.verify) {
          const results = [];
          for (const partition of partitions) results.push(await verifyStore({ ...common, partition }));
          const differing = results.filter(
            (result) => result.differences.length > 0 || result.position === undefined,
          );
          if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
          else {
            for (const result of results) {
              const verdict =
                result.position === undefined
                  ? 'no valid changelog position'
                  : result.differences.length === 0
                    ? `matches the changelog up to offset ${result.position} (${result.keysCompared} keys)`
                    : `${result.differences.length} difference(s) with the changelog up to offset ${result.position}`;
              process.stdout.write(`partition ${result.partition}: ${verdict}\n`);
              for (const difference of result.differences.slice(0, 20)) {
                process.stdout.write(`  ${difference.kind} ${JSON.stringify(difference)}\n`);
              }
            }
          }
          process.exitCode = differing.length > 0 ? 1 : 0;
          return;
        }

        const logger = createLogger({
          name: 'sluice-changelog',
          level: process.stderr.isTTY ? 'warn' : 'info',
        });
        const results = [];
        for (const partition of partitions) {
          const progress = createProgress(`partition ${partition}`);
          results.push(
            await replayIntoStore({
              ...common,
              partition,
              logger,
              onProgress: ({ done, total }) => progress.update(done, total),
            }),
          );
          progress.stop();
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        else {
          for (const result of results) {
            process.stdout.write(
              `partition ${result.partition}: ${result.records} records replayed into ${result.path} (position ${result.position})\n`,
            );
          }
        }
      },
    );

  return changelog;
}
