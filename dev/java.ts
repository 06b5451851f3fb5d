/** Finds a Java runtime of at least a given major version: $JAVA_HOME, the PATH, then /usr/lib/jvm. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../common/errors.ts';
import { runCommand } from './processes.ts';

async function majorVersion(java: string): Promise<number | undefined> {
  try {
    const { stderr, stdout } = await runCommand(java, ['-version'], { what: 'java -version' });
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr + stdout);
    if (!match) return undefined;
    const first = Number(match[1]);
    return first === 1 ? Number(match[2]) : first;
  } catch {
    return undefined;
  }
}

function candidates(): string[] {
  const found: string[] = [];
  if (process.env.JAVA_HOME) found.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  found.push('java');
  const jvmDir = '/usr/lib/jvm';
  if (existsSync(jvmDir)) {
    for (const entry of readdirSync(jvmDir).sort().reverse()) {
      const java = join(jvmDir, entry, 'bin', 'java');
      if (existsSync(java)) found.push(java);
    }
  }
  return found;
}

/** The first Java at or above `minMajor`; a clear error naming what to install otherwise. */
export async function findJava(minMajor: number, forWhat: string): Promise<string> {
  const seen: string[] = [];
  for (const java of candidates()) {
    const major = await majorVersion(java);
    if (major === undefined) continue;
    if (major >= minMajor) return java;
    seen.push(`${java} (${major})`);
  }
  throw new SluiceError(
    'DEV_TOOL_MISSING',
    `${forWhat} needs Java ${minMajor} or newer; found ${seen.length ? seen.join(', ') : 'no java at all'}. ` +
      `Install a JDK ${minMajor}+ (e.g. apt-get install openjdk-${Math.max(minMajor, 17)}-jre-headless) or set JAVA_HOME.`,
  );
}
