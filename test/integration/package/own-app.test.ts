/**
 * sluice as a user gets it: scripts/build-package packs the tarball, it is installed into an
 * empty directory outside the checkout, an app there (examples/page-views' app and schemas)
 * imports `sluice` and its own event types (`sluice schemas types` from its schemas), `tsc` accepts it and refuses it once the schema
 * changes under it, and `npx sluice processor --app ./my-app.ts` (Node.js 24, the package's
 * runtime) computes exact counts from events `npx sluice produce` sent to the test services.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';
import { freePort } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import {
  clickSchema,
  clicks,
  exampleDir,
  expectedPageViews,
  pageViewsConfig,
  readPageViews,
  sortPageViews,
} from './page-views.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const node24Bin = execFileSync(join(repo, 'scripts', 'lts-node'), { encoding: 'utf8' }).trim();

describe('your own app, with sluice installed from its package', () => {
  const services = testServices();
  const appId = uniqueName('own-app');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-own-app-'));
  const env = {
    ...process.env,
    PATH: `${node24Bin}:${process.env.PATH}`,
    KAFKA_BROKERS: services.kafkaBrokers,
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    DATABASE_URL: services.databaseUrl,
  };
  const inDir = (command: string, args: string[]) =>
    execFileSync(command, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const typecheck = () => {
    try {
      execFileSync(join(node24Bin, 'node'), [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
      return '';
    } catch (error) {
      return String((error as { stdout?: string }).stdout);
    }
  };
  let processor: ChildProcess | undefined;

  beforeAll(() => {
    const tarball = execFileSync(join(repo, 'scripts', 'build-package'), { cwd: repo, encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'my-analytics', private: true, type: 'module' }),
    );
    const installStarted = performance.now();
    inDir('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball]);
    const installSeconds = (performance.now() - installStarted) / 1000;
    const installedKb = Number(inDir('du', ['-sk', 'node_modules']).split('\t')[0]);
    process.stderr.write(
      `[own app] tarball ${Math.round(statSync(tarball).size / 1024)} KiB; npm install ${installSeconds.toFixed(1)} s; node_modules ${(installedKb / 1024).toFixed(1)} MiB\n`,
    );

    cpSync(join(exampleDir, 'schemas'), join(dir, 'schemas'), { recursive: true });
    writeFileSync(
      join(dir, 'sluice.yaml'),
      JSON.stringify(pageViewsConfig({ appId, schemaDir: 'schemas', stateDir: join(dir, 'state') })),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          types: [],
        },
        include: ['*.ts'],
      }),
    );
    cpSync(join(exampleDir, 'src', 'app.ts'), join(dir, 'my-app.ts'));
    inDir('npx', ['sluice', 'schemas', 'types', '--out', 'events.ts']);
  }, 600_000);

  afterAll(async () => {
    try {
      if (processor) process.kill(-processor.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates the event types from the schemas of the configured streams', () => {
    const events = readFileSync(join(dir, 'events.ts'), 'utf8');
    expect(events).toContain('export interface Click {');
    expect(events).toContain("export type ClickKind = 'view' | 'buy';");
    expect(events).toContain('  referrer: null | string;');
    expect(events).toContain('export interface PageViews {');
    // the example's own generated file is the same generation from the same schemas
    expect(events.split('\n').slice(2)).toEqual(
      readFileSync(join(exampleDir, 'src', 'events.ts'), 'utf8')
        .split('\n')
        .slice(2),
    );
  });

  it("type-checks the app against the package's types, and refuses it once the schema changes under it", () => {
    expect(typecheck()).toBe('');
    const saved = readFileSync(join(dir, 'events.ts'), 'utf8');
    const renamed = {
      ...clickSchema,
      fields: clickSchema.fields.map((field: { name: string }) =>
        field.name === 'page' ? { ...field, name: 'path' } : field,
      ),
    };
    const schemaFile = join(dir, 'schemas', 'Click.avsc');
    writeFileSync(schemaFile, JSON.stringify(renamed));
    try {
      inDir('npx', ['sluice', 'schemas', 'types', '--out', 'events.ts']);
      expect(typecheck()).toMatch(/my-app\.ts.*error TS\d+:.*'page'/);
    } finally {
      writeFileSync(schemaFile, JSON.stringify(clickSchema));
      writeFileSync(join(dir, 'events.ts'), saved);
    }
    expect(typecheck()).toBe('');
  });

  it('runs the app with `npx sluice processor --app ./my-app.ts` and emits exact counts', async () => {
    writeFileSync(join(dir, 'clicks.ndjson'), clicks.map((click) => JSON.stringify(click)).join('\n'));
    // sends them to the Click stream's topic, made with its partitions, as users would
    inDir('npx', ['sluice', 'produce', '--kafka', '--stream', 'Click', '--file', 'clicks.ndjson']);

    const port = await freePort();
    let output = '';
    const started = performance.now();
    // its own process group, so that stopping it reaches sluice below npx
    processor = spawn(
      'npx',
      ['sluice', 'processor', '--app', './my-app.ts', '--app-id', appId, '--port', String(port)],
      { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    processor.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    processor.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<void>((resolveExit) => processor!.once('exit', () => resolveExit()));
    await waitFor(
      'the processor to be ready',
      async () => {
        if (processor!.exitCode !== null) throw new Error(`the processor exited:\n${output.slice(-3000)}`);
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 60_000, describe: () => output.slice(-2000) },
    );
    process.stderr.write(
      `[own app] npx sluice processor ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );

    const expected = expectedPageViews();
    const views = await waitFor(
      'every closed window on the output topic',
      async () => {
        const written = await readPageViews(`page-views-${appId}`);
        return written.length >= expected.length && written;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(sortPageViews(views)).toEqual(expected);

    // as Ctrl-C in a terminal signals the whole foreground group (npx, its shell and sluice):
    // sluice commits, closes its stores and exits, saying so
    process.kill(-processor.pid!, 'SIGTERM');
    await exited;
    const groupAlive = () => {
      try {
        process.kill(-processor!.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor('sluice to stop', () => !groupAlive(), { timeoutMs: 30_000 });
    expect(output).toMatch(/"msg":"stopped"/);
    expect(output).not.toMatch(/"level":(50|60)/);
  });
});
