// Prints the package.json of the published package, derived from the repository's: the same
// name, version, dependencies and public entry points, but pointing at the compiled dist/ (with
// its .d.ts), without the tools that only a checkout needs (tsx runs the sources there; the
// package is compiled), without scripts (patch-package would patch the user's tree, not ours:
// the patched kafkajs travels inside the package instead, as a bundled dependency).
import { readFileSync } from 'node:fs';

const repo = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// Node.js 20 is end-of-life, and 22.18 is the first 22.x that loads a TypeScript app by itself
// (type stripping): the package then needs no transpiler (tsx, esbuild) at run time.
const engines = { node: '^22.18.0 || >=24.0.0' };
const checkoutOnly = new Set(['tsx']);
const compiled = (source) => `./dist/${source.replace(/^\.\//, '').replace(/\.ts$/, '')}`;

const exports = Object.fromEntries(
  Object.entries(repo.exports).map(([entry, source]) => [
    entry,
    { types: `${compiled(source)}.d.ts`, default: `${compiled(source)}.js` },
  ]),
);
const dependencies = Object.fromEntries(
  Object.entries(repo.dependencies).filter(([name]) => !checkoutOnly.has(name)),
);

const manifest = {
  name: repo.name,
  version: repo.version,
  description: repo.description,
  license: repo.license,
  type: repo.type,
  engines,
  bin: repo.bin,
  exports,
  files: repo.files,
  dependencies,
  bundleDependencies: ['kafkajs'],
};
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
