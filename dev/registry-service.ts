/**
 * Apicurio Registry 3.x from its distribution archive on Maven Central, in-memory storage,
 * serving the Confluent-compatible API at /apis/ccompat/v7 on loopback.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../common/errors.ts';
import { findJava } from './java.ts';
import { copyArtifact } from './maven.ts';
import {
  isAlive,
  isPortOpen,
  logTail,
  readPid,
  removeFile,
  runCommand,
  spawnDetached,
  stopProcess,
  waitUntil,
} from './processes.ts';
import type { DevService, ServiceStatus } from './service.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface RegistryServiceOptions {
  version: string;
  /** HTTP port; the management interface takes the next one. */
  port: number;
  cacheDir: string;
  dir: string;
  /** Extra Apicurio settings as environment variables (e.g. a storage that survives a restart). */
  env?: Record<string, string>;
}

/** Apicurio 3.0.x runs on Java 17; later 3.x releases are compiled for Java 21. */
function minimumJava(version: string): number {
  return /^3\.0\./.test(version) ? 17 : 21;
}

export function createRegistryService(options: RegistryServiceOptions): DevService {
  const home = join(options.cacheDir, `apicurio-registry-${options.version}`);
  const distDir = join(home, 'dist');
  const installedMarker = join(home, '.complete');
  const logFile = join(options.dir, 'registry.log');
  const pidFile = join(options.dir, 'registry.pid');
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const endpoint = `${baseUrl}/apis/ccompat/v7`;

  const runningPid = () => {
    const pid = readPid(pidFile);
    return pid !== undefined && isAlive(pid) ? pid : undefined;
  };
  const answers = async () => {
    try {
      return (await fetch(`${endpoint}/subjects`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  };

  const service: DevService = {
    name: 'registry',
    envVar: 'SCHEMA_REGISTRY_URL',
    endpoint,
    version: options.version,

    async install(progress) {
      if (existsSync(installedMarker)) return;
      progress(`downloading Apicurio Registry ${options.version} from Maven Central into ${home}`);
      await copyArtifact(
        join(here, 'kafka', 'pom.xml'),
        `io.apicurio:apicurio-registry-app:${options.version}:tar.gz:all`,
        home,
        `Apicurio Registry ${options.version}`,
      );
      mkdirSync(distDir, { recursive: true });
      const archive = join(home, `apicurio-registry-app-${options.version}-all.tar.gz`);
      await runCommand('tar', ['xzf', archive, '-C', distDir], { what: 'unpacking Apicurio Registry' });
      removeFile(archive);
      writeFileSync(installedMarker, new Date().toISOString());
    },

    async start(progress) {
      if (runningPid() !== undefined && (await answers())) return 'already running';
      if (await isPortOpen(options.port)) {
        throw new SluiceError(
          'DEV_PORT_IN_USE',
          `port ${options.port} (schema registry) is in use by another process: stop it or set SLUICE_DEV_REGISTRY_PORT`,
        );
      }
      await service.install(progress);
      const java = await findJava(minimumJava(options.version), `Apicurio Registry ${options.version}`);
      const jar = readdirSync(distDir).find(
        (name) => name === 'quarkus-run.jar' || name.endsWith('-runner.jar'),
      );
      if (!jar)
        throw new SluiceError('DEV_START_FAILED', `no runnable jar in ${distDir}; delete ${home} and retry`);
      mkdirSync(options.dir, { recursive: true });
      progress(`starting Apicurio Registry ${options.version} on ${baseUrl}`);
      removeFile(pidFile);
      const pid = spawnDetached(java, ['-Xms128m', '-Xmx512m', '-jar', join(distDir, jar)], {
        logFile,
        pidFile,
        cwd: distDir,
        env: {
          ...process.env,
          QUARKUS_HTTP_HOST: '127.0.0.1',
          QUARKUS_HTTP_PORT: String(options.port),
          QUARKUS_HTTP_ACCESS_LOG_ENABLED: 'false',
          // Quarkus' management interface (health, metrics) would take 0.0.0.0:9000 otherwise
          QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
          QUARKUS_MANAGEMENT_PORT: String(options.port + 1),
          ...options.env,
        },
      });
      await waitUntil(answers, {
        deadlineMs: 120_000,
        what: `Apicurio Registry on ${baseUrl}`,
        abortIf: () =>
          isAlive(pid)
            ? undefined
            : `the registry exited; its log ${logFile} ends with:\n${logTail(logFile)}`,
      });
      return 'started';
    },

    async stop() {
      const pid = runningPid();
      if (pid === undefined) return 'not running';
      await stopProcess(pid, { graceMs: 15_000 });
      removeFile(pidFile);
      return 'stopped';
    },

    async status(): Promise<ServiceStatus> {
      const pid = runningPid();
      const up = pid !== undefined && (await answers());
      return {
        name: 'registry',
        state: up ? 'running' : 'stopped',
        version: options.version,
        endpoint,
        pid,
        logFile,
      };
    },
  };
  return service;
}
