#!/usr/bin/env node
// The `sluice` command. In a checkout (the TypeScript sources beside this file) it runs them
// through tsx, so working on sluice needs no build step. The published package has no sources:
// it runs its compiled dist/, and an app written in TypeScript is loaded by Node's own type
// stripping (Node.js 22.18 and later).
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
