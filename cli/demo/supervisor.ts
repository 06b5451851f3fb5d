/** Child `sluice` processes of the demo: started with their logs in files, stopped together. */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';

const sluice = join(import.meta.dirname, '..', '..', 'bin', 'sluice.js');

export interface Supervisor {
  start(name: string, args: string[], env?: Record<string, string>): ChildProcess;
  /** SIGTERM to all, SIGKILL to the ones still there after `graceMs`. */
  stopAll(graceMs?: number): Promise<void>;
  pids(): number[];
}

export function createSupervisor(logDir: string): Supervisor {
  const children = new Map<string, ChildProcess>();
  return {
    start(name, args, env) {
      const log = openSync(join(logDir, `${name}.log`), 'a');
      const child = spawn(process.execPath, [sluice, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', log, log],
      });
      children.set(name, child);
      return child;
    },
    async stopAll(graceMs = 20_000) {
      const alive = [...children.values()].filter(
        (child) => child.exitCode === null && child.signalCode === null,
      );
      await Promise.all(
        alive.map(
          (child) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
    pids: () => [...children.values()].map((child) => child.pid!).filter(Boolean),
  };
}
