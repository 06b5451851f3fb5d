#!/usr/bin/env node
// The `sluice` command. In a checkout (the TypeScript sources beside this file) Node runs them
// itself where it strips types (Node.js 22.18 and later: the image, CI); older Node, or Node
// started with --no-experimental-strip-types, runs them through tsx. Either way working on sluice
// needs no build step. The published package has no sources: it runs its compiled dist/, and an
// app written in TypeScript is loaded by Node's own type stripping (Node.js 22.18 and later).
import { existsSync } from 'node:fs';
import module from 'node:module';

// V8 keeps the code it compiled for each module on disk (NODE_COMPILE_CACHE, else the OS temp
// directory), so a restart skips most of the start's compiling: about half a second less with two
// worker threads. Worker threads read the directory from the environment. (Node 22.1 and later.)
const compileCache = module.enableCompileCache?.();
if (compileCache?.directory) process.env.NODE_COMPILE_CACHE ??= compileCache.directory;

const sources = new URL('../cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  if (!process.features.typescript) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
