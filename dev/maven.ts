/** Fetches artifacts from Maven Central with `mvn` into the local repository (~/.m2), then copies them out. */
import { SluiceError } from '../common/errors.ts';
import { hasCommand, runCommand } from './processes.ts';

async function mvn(args: string[], what: string): Promise<void> {
  if (!(await hasCommand('mvn'))) {
    throw new SluiceError(
      'DEV_TOOL_MISSING',
      `${what} needs Maven (mvn): install it (apt-get install maven)`,
    );
  }
  try {
    await runCommand('mvn', ['-B', '-q', ...args], { what });
  } catch (error) {
    throw new SluiceError(
      'DEV_DOWNLOAD_FAILED',
      `${what}: Maven could not fetch it. Check that Maven Central is reachable and the version exists.`,
      { cause: error },
    );
  }
}

/** Copies every runtime dependency of the project in `pomFile` into `outputDir`. */
export function copyDependencies(
  pomFile: string,
  outputDir: string,
  properties: Record<string, string>,
  what: string,
) {
  const defines = Object.entries(properties).map(([key, value]) => `-D${key}=${value}`);
  return mvn(
    [
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${outputDir}`,
      ...defines,
    ],
    what,
  );
}

/** Copies one artifact (`group:artifact:version[:type[:classifier]]`) into `outputDir`. */
export function copyArtifact(pomFile: string, coordinates: string, outputDir: string, what: string) {
  return mvn(
    ['-f', pomFile, 'dependency:copy', `-Dartifact=${coordinates}`, `-DoutputDirectory=${outputDir}`],
    what,
  );
}
