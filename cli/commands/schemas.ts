/** `sluice schemas register`: registers every configured stream's schema (BACKWARD compatibility). */
import { Command } from 'commander';
import { loadConfig } from '../../common/config/load.ts';
import { createSchemaRegistryClient } from '../../schemas/registry.ts';
import { loadStreams } from '../../schemas/streams.ts';

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
  return schemas;
}
