/** Entry point of the `sluice` command: one subcommand per file under cli/commands/. */
import { Command, CommanderError } from 'commander';
import { describeError, isSluiceError } from '../common/errors.ts';
import { changelogCommand } from './commands/changelog.ts';
import { demoCommand } from './commands/demo.ts';
import { describeCommand } from './commands/describe.ts';
import { devCommand } from './commands/dev.ts';
import { keysCommand } from './commands/keys.ts';
import { processorCommand } from './commands/processor.ts';
import { produceCommand } from './commands/produce.ts';
import { resetCommand } from './commands/reset.ts';
import { routerCommand } from './commands/router.ts';
import { schemasCommand } from './commands/schemas.ts';
import { statusCommand } from './commands/status.ts';

const program = new Command('sluice')
  .description('Kafka-native stateful stream processing: routers, processors, warm standbys.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program.addCommand(demoCommand());
program.addCommand(devCommand());
program.addCommand(routerCommand());
program.addCommand(processorCommand());
program.addCommand(describeCommand());
program.addCommand(produceCommand());
program.addCommand(statusCommand());
program.addCommand(changelogCommand());
program.addCommand(resetCommand());
program.addCommand(schemasCommand());
program.addCommand(keysCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`sluice: ${isSluiceError(error) ? error.message : describeError(error)}\n`);
    process.exitCode = 1;
  }
}
