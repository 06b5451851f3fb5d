/** `sluice keys create`: an API key for a tenant, hashed into the router's keys file. */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../common/config/load.ts';
import { createKey } from '../../router/auth.ts';

export function keysCommand(): Command {
  const keys = new Command('keys').description("manage the routers' API keys");
  keys
    .command('create')
    .description('create an API key bound to a tenant; prints the key once, stores only its hash')
    .requiredOption('--tenant <tenant>', 'the tenant (partition-key value) the key may publish for')
    .option('--keys-file <file>', 'keys file (default router.auth.keysFile, or api-keys.yaml)')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--json', 'print { id, tenant, key } as JSON')
    .action((flags: { tenant: string; keysFile?: string; config?: string; json?: boolean }) => {
      const loaded = loadConfig({ file: flags.config });
      const file =
        flags.keysFile ?? resolve(loaded.baseDir, loaded.config.router.auth.keysFile ?? 'api-keys.yaml');
      const { id, key } = createKey(file, flags.tenant);
      if (flags.json) process.stdout.write(`${JSON.stringify({ id, tenant: flags.tenant, key })}\n`);
      else {
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `created ${id} for tenant ${flags.tenant} in ${file}; the key is shown only now\n`,
        );
      }
    });
  return keys;
}
