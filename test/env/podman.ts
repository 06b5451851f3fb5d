/**
 * Containers for the image tests, through scripts/podman (podman with runc and the ulimits our
 * machines allow). `podmanProblem()` says why podman cannot run here, so tests skip with that
 * reason and nowhere else; `buildTestImage()` builds the repository's Dockerfile, unchanged, on
 * the stand-in base image (scripts/stand-in-base-image), once per test run.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const repo = resolve(import.meta.dirname, '..', '..');
const podmanScript = resolve(repo, 'scripts', 'podman');

/** Why containers cannot run on this machine, or undefined when they can. */
export function podmanProblem(): string | undefined {
  const result = spawnSync(podmanScript, ['info', '--format', '{{.Host.OCIRuntime.Name}}'], {
    encoding: 'utf8',
  });
  if (result.error) return `podman cannot be started: ${result.error.message}`;
  if (result.status !== 0) {
    const reason = result.stderr.trim().split('\n').at(-1) || `exit status ${result.status}`;
    return `podman does not run here (${reason}); scripts/setup installs it on Debian`;
  }
  return undefined;
}

/** Runs podman; returns stdout, throws with podman's stderr. */
export function podman(args: string[], options: { timeoutMs?: number } = {}): string {
  try {
    return execFileSync(podmanScript, args, {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`podman ${args.join(' ')} failed: ${(stderr || stdout || String(error)).trim()}`);
  }
}

/** podman with its exit status, for commands whose failure is the answer. */
export function podmanStatus(args: string[]): { status: number; output: string } {
  const result = spawnSync(podmanScript, args, { cwd: repo, encoding: 'utf8' });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

export interface TestImage {
  name: string;
  /** Bytes, as podman reports the image's size. */
  sizeBytes: number;
  buildSeconds: number;
}

/**
 * The image the tests run: `SLUICE_TEST_IMAGE` when set (an image built elsewhere), else the
 * Dockerfile built here. `--format docker` keeps the HEALTHCHECK (OCI images have none).
 */
export async function buildTestImage(): Promise<TestImage> {
  const started = performance.now();
  let name = process.env.SLUICE_TEST_IMAGE;
  if (!name) {
    name = 'localhost/sluice:test';
    // asynchronous: a build of minutes must not block the test worker (vitest's RPC times out)
    const run = promisify(execFile);
    const options = { cwd: repo, maxBuffer: 64 * 1024 * 1024 };
    try {
      await run(resolve(repo, 'scripts', 'stand-in-base-image'), [], { ...options, timeout: 15 * 60_000 });
      await run(podmanScript, ['build', '--pull=never', '--format', 'docker', '--quiet', '-t', name, '.'], {
        ...options,
        timeout: 20 * 60_000,
      });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`building the image failed: ${(stderr || String(error)).trim().slice(-4000)}`);
    }
  }
  const sizeBytes = Number(podman(['image', 'inspect', '--format', '{{.Size}}', name]).trim());
  return { name, sizeBytes, buildSeconds: (performance.now() - started) / 1000 };
}

/** Removes containers and volumes by name, ignoring the ones already gone. */
export function removeContainers(containers: string[], volumes: string[] = []): void {
  for (const container of containers) podmanStatus(['rm', '--force', '--time', '0', container]);
  for (const volume of volumes) podmanStatus(['volume', 'rm', '--force', volume]);
}

/** A service as `docker-compose config` prints it (the parts the tests run). */
export interface ComposeService {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: (string | { source: string; target: string; read_only?: boolean })[];
  network_mode?: string;
}

/**
 * `podman run` arguments that start a compose service as compose would (image, environment,
 * volumes, network, command), for a compose whose own runner cannot start single services here
 * (Debian's podman-compose 1.0 starts the dependencies even with --no-deps).
 */
export function composeRunArgs(name: string, service: ComposeService): string[] {
  const env = Object.entries(service.environment ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  const volumes = (service.volumes ?? []).flatMap((volume) =>
    typeof volume === 'string'
      ? ['-v', volume]
      : ['-v', `${volume.source}:${volume.target}${volume.read_only ? ':ro' : ''}`],
  );
  const network = service.network_mode ? ['--network', service.network_mode] : [];
  return [
    'run',
    '-d',
    '--name',
    name,
    ...network,
    ...env,
    ...volumes,
    service.image,
    ...(service.command ?? []),
  ];
}
