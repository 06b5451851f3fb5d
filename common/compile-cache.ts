/**
 * V8's compile cache (bin/sluice.js turns it on) is written to disk when a thread exits normally.
 * A service that is later SIGKILLed (out of memory, a node lost) would never write it, and its
 * restart would compile every module again: a started service writes it a little after it is up,
 * off the start's path (writing it takes CPU the first commits need) and with the code its first
 * work compiled.
 */
import module from 'node:module';

export const compileCacheDelayMs = 10_000;

export function saveCompileCacheSoon(): void {
  // Node 22.10 and later (missing from @types/node 20)
  const { flushCompileCache } = module as { flushCompileCache?: () => void };
  if (flushCompileCache) setTimeout(flushCompileCache, compileCacheDelayMs).unref();
}
