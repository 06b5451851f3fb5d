/**
 * Real `sluice` processes for end-to-end tests: started with `node bin/sluice.js <args>`, their
 * output kept in a log file, ready when a URL answers 200 or a log line matches, and killed for
 * real (SIGKILL, SIGTERM, SIGSTOP/SIGCONT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, closeSync, createWriteStream, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServices } from './services.ts';
import { waitFor } from './wait.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const running = new Set<SluiceProcess>();
// a test that times out or crashes must not leave processes behind
process.once('exit', () => {
  for (const child of running) child.child.kill('SIGKILL');
});

export interface SluiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once it has exited. */
  exited: Promise<number | string>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  name: string;
  env?: Record<string, string>;
  /** Ready when this URL answers 200. */
  readyUrl?: string;
  /** Ready when the output matches. */
  readyOutput?: RegExp;
  readyTimeoutMs?: number;
  cwd?: string;
  /**
   * Run as this Unix user (the test runner must be root), e.g. a `cutUser()` from network-cut.ts,
   * so that rules matching the user cut this process alone. Its own directory (log, HOME) is
   * handed to it; directories it writes elsewhere must be handed to it by the caller.
   */
  user?: { uid: number; gid: number };
  /** The Node.js binary to run it with (default: the one running the tests). */
  node?: string;
}

/** The environment pointing a sluice process at the test services. */
export function serviceEnv(): Record<string, string> {
  const services = testServices();
  return {
    KAFKA_BROKERS: services.kafkaBrokers,
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    DATABASE_URL: services.databaseUrl,
  };
}

export async function startSluice(args: string[], options: StartOptions): Promise<SluiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${options.name}-`));
  const logFile = join(dir, 'output.log');
  const log = createWriteStream(logFile);
  const { user } = options;
  if (user) chownSync(dir, user.uid, user.gid);
  const child = spawn(options.node ?? process.execPath, [join(repoRoot, 'bin', 'sluice.js'), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: {
      ...process.env,
      ...serviceEnv(),
      SLUICE_LOG_LEVEL: 'info',
      // one worker per instance unless a test asks for more (--workers, or its env): a test run
      // starts dozens of instances on a few cores; the default (the cores) has its own tests
      SLUICE_PROCESSOR_WORKERS: '1',
      SLUICE_ROUTER_WORKERS: '1',
      // root's HOME is not writable by another user
      ...(user ? { HOME: dir } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolveExit) =>
    child.once('exit', (code, signal) => {
      running.delete(handle);
      resolveExit(code ?? signal ?? 'unknown');
    }),
  );
  let exitedAlready = false;
  exited.then(() => {
    exitedAlready = true;
  });
  const output = () => readFileSync(logFile, 'utf8');

  const handle: SluiceProcess = {
    name: options.name,
    child,
    logFile,
    output,
    exited,
    signal: (signal) => {
      if (!exitedAlready) child.kill(signal);
    },
    async stop(graceMs = 15_000) {
      if (exitedAlready) return exited;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  running.add(handle);

  const readiness = await waitFor(
    `${options.name} to be ready`,
    async () => {
      // an exit ends the wait at once (a thrown error would only be retried until the deadline)
      if (exitedAlready) return 'exited';
      if (options.readyOutput?.test(output())) return true;
      if (options.readyUrl) {
        const response = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) }).catch(
          () => undefined,
        );
        return response?.status === 200;
      }
      return !options.readyOutput;
    },
    { timeoutMs: options.readyTimeoutMs ?? 60_000, intervalMs: 100 },
  ).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- ${options.name} output ---\n${output().slice(-3000)}`);
  });
  if (readiness === 'exited') {
    throw new Error(`${options.name} exited before it was ready:\n${output().slice(-3000)}`);
  }
  return handle;
}

/** Runs a one-shot sluice command to completion. */
export function runSluice(
  args: string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    timeoutMs?: number;
    user?: StartOptions['user'];
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'sluice.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...serviceEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Stops every process this test file started and has not stopped (use in afterAll/afterEach). */
export async function stopAllSluice(): Promise<void> {
  await Promise.all([...running].map((process) => process.stop(5000)));
}

/** A free TCP port on loopback. */
/** A port the OS says is free now, bound and released at once. */
async function osFreePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A free port that no other test file of this run was given: test files run in parallel
 * workers, and two of them once got the same port from the OS for brokers started side by side
 * (one broker then served both). Each port handed out is reserved by a file created exclusively
 * in the run's directory (global setup sets SLUICE_TEST_PORTS_DIR).
 */
export async function freePort(): Promise<number> {
  const dir = process.env.SLUICE_TEST_PORTS_DIR;
  for (let attempt = 0; ; attempt++) {
    const port = await osFreePort();
    if (!dir) return port;
    try {
      closeSync(openSync(join(dir, String(port)), 'wx'));
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 50) throw error;
    }
  }
}
