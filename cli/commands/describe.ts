/** `sluice describe --app <module>`: prints the app's compiled graph (no Kafka or registry needed). */
import { Command, Option } from 'commander';
import { loadConfig } from '../../common/config/load.ts';
import { compileTopology } from '../../processor/app/topology.ts';
import { type DescriptionFormat, describeTopology } from '../../processor/app/topology-description.ts';
import { loadApp } from '../../processor/runtime.ts';
import { loadStreams } from '../../schemas/streams.ts';

export function describeCommand(): Command {
  return new Command('describe')
    .description(
      "print an app's graph: sub-topologies, operators, stores and changelogs, repartition and sink topics",
    )
    .requiredOption('--app <module>', 'the app module (a file whose default export is defineApp(...))')
    .option('-c, --config <file>', 'config file with the streams (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--app-id <id>', 'describe the app under another id (as `processor --app-id`)')
    .addOption(
      new Option('--format <format>', 'text, or a picture as Graphviz dot or Mermaid')
        .choices(['text', 'dot', 'mermaid'])
        .default('text'),
    )
    .action(async (flags: { app: string; config?: string; appId?: string; format: DescriptionFormat }) => {
      const loaded = loadConfig({ file: flags.config });
      const app = await loadApp(flags.app);
      const topology = compileTopology(
        { ...app, id: flags.appId ?? app.id },
        loadStreams(loaded.config.streams, loaded.baseDir),
        { repartitionPartitions: loaded.config.processor.repartitionPartitions },
      );
      process.stdout.write(describeTopology(topology, flags.format));
    });
}
