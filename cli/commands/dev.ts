/** `sluice dev up|down|status|install`: the local Kafka, schema registry and PostgreSQL. */
import { Command } from 'commander';
import { devSettings } from '../../dev/settings.ts';
import { createDevStack } from '../../dev/stack.ts';

const progress = (message: string) => process.stderr.write(`• ${message}\n`);

export function devCommand(): Command {
  const dev = new Command('dev').description(
    'Run Kafka, the schema registry and PostgreSQL locally for development',
  );

  dev
    .command('up')
    .description('start the three services (harmless when they already run) and print their variables')
    .option('--json', 'print the variables as a JSON object')
    .action(async (options: { json?: boolean }) => {
      const stack = createDevStack(devSettings());
      const started = await stack.up(progress);
      progress(started.length ? `started ${started.join(', ')}` : 'everything was already running');
      const env = stack.env();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(env)}\n`);
      } else {
        for (const [name, value] of Object.entries(env)) process.stdout.write(`export ${name}=${value}\n`);
      }
    });

  dev
    .command('down')
    .description('stop the services that `sluice dev up` started')
    .action(async () => {
      const stopped = await createDevStack(devSettings()).down();
      progress(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    });

  dev
    .command('status')
    .description('tell which services run, where, and their versions (exit 3 when one is stopped)')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const statuses = await createDevStack(devSettings()).status();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(statuses)}\n`);
      } else {
        for (const status of statuses) {
          process.stdout.write(
            `${status.name.padEnd(9)} ${status.state.padEnd(8)} ${status.version.padEnd(10)} ${status.endpoint}\n`,
          );
        }
      }
      if (statuses.some((status) => status.state !== 'running')) process.exitCode = 3;
    });

  dev
    .command('install')
    .description('download what the services need (Kafka jars, Apicurio) without starting them')
    .action(async () => {
      await createDevStack(devSettings()).install(progress);
      progress('installed');
    });

  return dev;
}
