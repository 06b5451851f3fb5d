/**
 * `sluice keys create|list|revoke`: the API keys of routers and processors, hashed in the keys
 * file. Running routers and processors pick up a change within about two seconds (they poll the
 * file every second) or at once on SIGHUP, so a key is rotated by creating the new one, moving
 * clients over, then revoking the old one — no restart.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { createKey, readKeysFile, revokeKey } from '../../common/auth/keys-file.ts';
import { loadConfig } from '../../common/config/load.ts';
import { SluiceError } from '../../common/errors.ts';

interface FileFlags {
  keysFile?: string;
  config?: string;
}

function keysFileOf(flags: FileFlags): string {
  if (flags.keysFile) return resolve(flags.keysFile);
  const loaded = loadConfig({ file: flags.config });
  return resolve(loaded.baseDir, loaded.config.router.auth.keysFile ?? 'api-keys.yaml');
}

const withFile = (command: Command) =>
  command
    .option('--keys-file <file>', 'keys file (default router.auth.keysFile, or api-keys.yaml)')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)');

export function keysCommand(): Command {
  const keys = new Command('keys').description("manage the routers' and processors' API keys");
  withFile(
    keys
      .command('create')
      .description('create an API key; prints the key once, stores only its hash')
      .option('--tenant <tenant>', 'the tenant (partition-key value) the key may publish and query for')
      .option('--operator', "an operator key: processors' status pages and every tenant's state")
      .option('--json', 'print { id, tenant, role, key } as JSON'),
  ).action((flags: FileFlags & { tenant?: string; operator?: boolean; json?: boolean }) => {
    if (Boolean(flags.tenant) === Boolean(flags.operator)) {
      throw new SluiceError('CONFIG_INVALID', 'say whom the key is for: --tenant <tenant> or --operator');
    }
    const file = keysFileOf(flags);
    const owner = flags.operator
      ? ({ role: 'operator' } as const)
      : ({ role: 'tenant', tenant: flags.tenant! } as const);
    const { id, key } = createKey(file, owner);
    if (flags.json) process.stdout.write(`${JSON.stringify({ id, ...owner, key })}\n`);
    else {
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `created ${id} (${flags.operator ? 'operator' : `tenant ${flags.tenant}`}) in ${file}; the key is shown only now\n`,
      );
    }
  });
  withFile(
    keys
      .command('list')
      .description('list the keys: id, role, tenant, created (never the key; last use is not recorded)')
      .option('--json', 'print the entries as JSON'),
  ).action((flags: FileFlags & { json?: boolean }) => {
    const entries = readKeysFile(keysFileOf(flags)).keys.map(({ id, role, tenant, created }) => ({
      id,
      role,
      tenant: tenant ?? null,
      created: created ?? null,
    }));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(entries)}\n`);
      return;
    }
    const rows = [
      ['ID', 'ROLE', 'TENANT', 'CREATED'],
      ...entries.map((e) => [e.id, e.role, e.tenant ?? '-', e.created ?? '-']),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows)
      process.stdout.write(
        `${row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
      );
  });
  withFile(
    keys
      .command('revoke')
      .description('remove a key by its id')
      .argument('<id>', 'the key id (see keys list)'),
  ).action((id: string, flags: FileFlags) => {
    const file = keysFileOf(flags);
    if (!revokeKey(file, id))
      throw new SluiceError('CONFIG_INVALID', `${file} holds no key ${id}: see \`sluice keys list\``);
    process.stderr.write(
      `revoked ${id} in ${file}; running routers and processors stop accepting it within 2 s (at once on SIGHUP)\n`,
    );
  });
  return keys;
}
