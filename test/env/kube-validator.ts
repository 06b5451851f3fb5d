/**
 * The Kubernetes manifest validator (helm/validate, Go): built once per run into the cache
 * directory, then fed rendered manifests on stdin. It decodes each strictly into the Kubernetes
 * API's own types (unknown fields, wrong types and missing required fields fail).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { devSettings } from '../../dev/settings.ts';

const source = resolve(import.meta.dirname, '..', '..', 'helm', 'validate');

export function buildKubeValidator(): string {
  const binary = join(devSettings().cacheDir, 'bin', 'sluice-kube-validate');
  try {
    // go build is incremental: a no-op when neither the sources nor the modules changed
    execFileSync('go', ['build', '-o', binary, '.'], { cwd: source, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `could not build the manifest validator in helm/validate (needs go and the Go module proxy): ${stderr || error}`,
    );
  }
  return binary;
}

/** Runs the validator; `problems` lists one line per problem (empty when all are valid). */
export function validateManifests(binary: string, manifests: string): { valid: boolean; output: string } {
  const result = spawnSync(binary, [], { input: manifests, encoding: 'utf8' });
  if (result.status === 2 || result.error) {
    throw new Error(`the manifest validator could not run: ${result.stderr || result.error}`);
  }
  return { valid: result.status === 0, output: result.stdout };
}
