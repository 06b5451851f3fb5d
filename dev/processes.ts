/**
 * Process plumbing for the local services: run a command to completion, start a long-running
 * one detached with its output in a log file, and wait for ports with a deadline.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../common/errors.ts';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit throws with the tail of its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; what: string },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (error) =>
      reject(new SluiceError('DEV_TOOL_MISSING', `${options.what}: cannot run ${command}`, { cause: error })),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve({ stdout, stderr });
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n');
      reject(new SluiceError('DEV_START_FAILED', `${options.what} failed (exit ${code}):\n${tail}`));
    });
  });
}

/** True when an executable of that name is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await runCommand('sh', ['-c', `command -v ${command}`], { what: `looking for ${command}` });
    return true;
  } catch {
    return false;
  }
}

/** Starts a long-running process in its own process group, output appended to `logFile`. */
export function spawnDetached(
  command: string,
  args: readonly string[],
  options: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): number {
  const out = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new SluiceError('DEV_START_FAILED', `could not start ${command}`);
    child.unref();
    writeFileSync(options.pidFile, String(child.pid));
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim().split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Sends `signal` to the process group, then SIGKILL if it is still alive after `graceMs`. */
export async function stopProcess(
  pid: number,
  options: { graceMs: number; signal?: NodeJS.Signals },
): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalGroup(options.signal ?? 'SIGTERM');
  const deadline = Date.now() + options.graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signalGroup('SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // absent is fine
  }
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it returns true; throws when `deadlineMs` passes or `abortIf` says the
 * process we wait for has died (then the message includes the tail of its log).
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  options: {
    deadlineMs: number;
    what: string;
    intervalMs?: number;
    abortIf?: () => string | undefined;
    /** Its tail goes into the deadline's message, to say why the service never became ready. */
    logFile?: string;
  },
): Promise<void> {
  const deadline = Date.now() + options.deadlineMs;
  for (;;) {
    if (await check()) return;
    const abort = options.abortIf?.();
    if (abort !== undefined) throw new SluiceError('DEV_START_FAILED', `${options.what}: ${abort}`);
    if (Date.now() > deadline) {
      const log = options.logFile
        ? `; its log ${options.logFile} ends with:\n${logTail(options.logFile)}`
        : '';
      throw new SluiceError(
        'DEV_START_FAILED',
        `${options.what}: not ready after ${options.deadlineMs} ms${log}`,
      );
    }
    await sleep(options.intervalMs ?? 200);
  }
}

export function logTail(logFile: string, lines = 20): string {
  if (!existsSync(logFile)) return '(no log)';
  return readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
}
