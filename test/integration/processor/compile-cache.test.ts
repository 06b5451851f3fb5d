/**
 * V8's compile cache survives a SIGKILL: a started processor (main thread and worker threads)
 * writes it while it runs (Node alone writes it only at a normal exit), so the restart after a
 * crash does not compile every module again.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCacheDelayMs } from '../../../common/compile-cache.ts';
import { waitFor } from '../../env/wait.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));

describe('the compile cache of a processor that is SIGKILLed', () => {
  let fixture: AnalyticsFixture;
  beforeAll(async () => {
    fixture = await createAnalyticsFixture({ partitions: 2 });
  });
  afterAll(async () => fixture?.cleanup());

  it('is on disk a little after the processor is ready, with or without worker threads', {
    timeout: 90_000,
  }, async () => {
    for (const workers of ['1', '2']) {
      const cache = mkdtempSync(join(tmpdir(), 'sluice-compile-cache-'));
      const processor = await fixture.startProcessor({
        name: `cached-${workers}`,
        env: { NODE_COMPILE_CACHE: cache, SLUICE_PROCESSOR_WORKERS: workers },
      });
      // sluice's own modules and its dependencies' (kafkajs, fastify, pg, ...): hundreds
      await waitFor(`the compile cache (workers: ${workers})`, () => filesUnder(cache).length > 100, {
        timeoutMs: compileCacheDelayMs + 20_000,
        describe: () => filesUnder(cache).length,
      });
      processor.signal('SIGKILL');
      expect(await processor.exited).toBe('SIGKILL');
      expect(filesUnder(cache).length).toBeGreaterThan(100);
    }
  });
});
