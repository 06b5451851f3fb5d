import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startSluice } from '../env/sluice-process.ts';
import { waitFor } from '../env/wait.ts';

const running = (pattern: string) => {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};

describe('sluice demo', () => {
  it('starts everything, shows results within a minute, and stops leaving no process behind', {
    timeout: 240_000,
  }, async () => {
    const demo = await startSluice(['demo', '--rate', '300'], {
      name: 'demo',
      readyOutput: /processors ready/,
      readyTimeoutMs: 120_000,
    });
    const dir = /logs and config in (\S+)/.exec(demo.output())![1]!;
    expect(running(dir).length).toBe(6); // 2 routers, 4 processors
    // results within a minute of the processors being ready
    await waitFor(
      'windows in the demo output',
      () => /demo: \d+ events accepted, [1-9]\d* windows emitted, 2 slots active/.test(demo.output()),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    demo.signal('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toMatch(/stopped; logs are in/);
    expect(running(dir)).toEqual([]);
  });
});
