/**
 * `sluice schemas register`: registers every configured stream's schema (BACKWARD compatibility).
 * `sluice schemas types`: TypeScript types of the events, generated from the .avsc files.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../common/config/load.ts';
import { SluiceError } from '../../common/errors.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { loadStreams } from '../../schemas/streams.ts';
import { generateTypes, type SchemaSource } from '../../schemas/type-generator.ts';

interface TypesFlags {
  config?: string;
  out?: string;
  check?: boolean;
}

/** The .avsc files named on the command line, else those of the configured streams. */
function schemaSources(files: string[], flags: TypesFlags): SchemaSource[] {
  const paths =
    files.length > 0
      ? files
      : (() => {
          const loaded = loadConfig({ file: flags.config });
          return Object.values(loaded.config.streams).map((stream) =>
            relative(process.cwd(), resolve(loaded.baseDir, stream.schema)),
          );
        })();
  if (paths.length === 0)
    throw new SluiceError('CONFIG_INVALID', 'no schemas: name .avsc files or configure streams');
  return paths.map((file) => {
    try {
      return { file, schema: JSON.parse(readFileSync(file, 'utf8')) };
    } catch (error) {
      throw new SluiceError('CONFIG_INVALID', `cannot read the schema ${file}: ${(error as Error).message}`);
    }
  });
}

function typesCommand(): Command {
  return new Command('types')
    .description(
      'generate TypeScript types of the events from the Avro schemas (all streams, or the files given)',
    )
    .argument('[files...]', '.avsc files (default: the schema of every configured stream)')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('-o, --out <file>', 'write the types to this file (default: standard output)')
    .option('--check', 'write nothing; exit 1 when --out is not what would be generated (for CI)')
    .action((files: string[], flags: TypesFlags) => {
      let types: string;
      try {
        types = generateTypes(schemaSources(files, flags));
      } catch (error) {
        if (error instanceof SluiceError) throw error;
        throw new SluiceError('CONFIG_INVALID', `cannot generate types: ${(error as Error).message}`);
      }
      if (flags.check) {
        if (!flags.out) throw new SluiceError('CONFIG_INVALID', '--check needs --out <file>');
        const current = existsSync(flags.out) ? readFileSync(flags.out, 'utf8') : '';
        if (current !== types) {
          process.stderr.write(`${flags.out} is stale: run sluice schemas types without --check\n`);
          process.exitCode = 1;
        }
      } else if (flags.out) writeFileSync(flags.out, types);
      else process.stdout.write(types);
    });
}

export function schemasCommand(): Command {
  const schemas = new Command('schemas').description('manage stream schemas in the registry');
  schemas
    .command('register')
    .description('register the Avro schema of each stream; an incompatible change is refused with the reason')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--json', 'print { stream: { subject, id } } as JSON')
    .action(async (flags: { config?: string; json?: boolean }) => {
      const loaded = loadConfig({ file: flags.config });
      const registry = createSchemaRegistryClient(
        loaded.config.registry.url,
        loaded.secrets.registryAuthorization,
      );
      const result: Record<string, { subject: string; id: number }> = {};
      for (const stream of loadStreams(loaded.config.streams, loaded.baseDir).values()) {
        result[stream.name] = {
          subject: stream.subject,
          id: await registry.register(stream.subject, stream.schema),
        };
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else
        for (const [name, { subject, id }] of Object.entries(result))
          process.stdout.write(`${name}: ${subject} id ${id}\n`);
    });
  schemas.addCommand(typesCommand());
  return schemas;
}
