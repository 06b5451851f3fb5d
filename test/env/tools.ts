/** Where the deployment tools live: on the PATH, or where scripts/setup installs them. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { devSettings } from '../../dev/settings.ts';

const installed: Record<string, string[]> = {
  helm: [join(process.env.GOBIN ?? join(homedir(), 'go', 'bin'), 'helm')],
  hadolint: [join(devSettings().cacheDir, 'tools-venv', 'bin', 'hadolint')],
  'docker-compose': [],
};

/** The path of a tool; throws naming the setup step that installs it. */
export function toolPath(tool: 'helm' | 'hadolint' | 'docker-compose'): string {
  for (const candidate of installed[tool]!) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${tool} is not installed: run scripts/setup (it installs helm, hadolint and docker-compose)`,
    );
  }
}
