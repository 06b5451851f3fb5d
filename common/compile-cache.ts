/**
 * V8's compile cache (bin/sluice.js turns it on) is written to disk when a thread exits normally.
 * A service that is later SIGKILLed (out of memory, a node lost) would never write it, and its
 * restart would compile every module again: a started service writes it once it is up.
 */
import module from 'node:module';

export function saveCompileCache(): void {
  // Node 22.10 and later (missing from @types/node 20)
  (module as { flushCompileCache?: () => void }).flushCompileCache?.();
}
