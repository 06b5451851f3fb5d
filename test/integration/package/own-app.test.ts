/**
 * sluice as a user gets it: scripts/build-package packs the tarball, it is installed into an
 * empty directory outside the checkout, an app there (examples/page-views' app and schemas)
 * imports `sluice` and its own event types (`sluice schemas types` from its schemas), `tsc`
 * accepts it and refuses it once the schema changes under it, its test driver (sluice/testing)
 * runs it in-process, and
 * `npx sluice processor --app ./my-app.ts` (Node.js 24, the package's runtime) computes exact
 * counts from events `npx sluice produce` sent to the test services.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
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
  // asynchronous: a blocked test worker misses vitest's RPC deadlines on a busy machine
  const run = promisify(execFile);
  const inDir = async (command: string, args: string[]) =>
    (await run(command, args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })).stdout;
  const typecheck = async () => {
    try {
      await run(join(node24Bin, 'node'), [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
      return '';
    } catch (error) {
      return String((error as { stdout?: string }).stdout);
    }
  };
  let processor: ChildProcess | undefined;

  beforeAll(async () => {
    const tarball = (
      await run(join(repo, 'scripts', 'build-package'), { cwd: repo, encoding: 'utf8' })
    ).stdout
      .trim()
      .split('\n')
      .at(-1)!;
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'my-analytics', private: true, type: 'module' }),
    );
    const installStarted = performance.now();
    await inDir('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball]);
    const installSeconds = (performance.now() - installStarted) / 1000;
    const installedKb = Number((await inDir('du', ['-sk', 'node_modules'])).split('\t')[0]);
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
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    cpSync(join(exampleDir, 'src', 'app.ts'), join(dir, 'my-app.ts'));
    await inDir('npx', ['sluice', 'schemas', 'types', '--out', 'events.ts']);
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

  // two tsc runs over the installed package: a minute and more on a loaded 2-core machine
  it("type-checks the app against the package's types, and refuses it once the schema changes under it", {
    timeout: 150_000,
  }, async () => {
    expect(await typecheck()).toBe('');
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
      await inDir('npx', ['sluice', 'schemas', 'types', '--out', 'events.ts']);
      expect(await typecheck()).toMatch(/my-app\.ts.*error TS\d+:.*'page'/);
    } finally {
      writeFileSync(schemaFile, JSON.stringify(clickSchema));
      writeFileSync(join(dir, 'events.ts'), saved);
    }
    expect(await typecheck()).toBe('');
  });

  it("tests the app in-process with the package's sluice/testing driver", async () => {
    writeFileSync(
      join(dir, 'driver-check.ts'),
      `import { createTestDriver } from 'sluice/testing';
import app from './my-app.ts';
import type { PageViews } from './events.ts';

const driver = await createTestDriver(app);
await driver.pipe(${JSON.stringify(clicks)});
const views: PageViews[] = driver.output<PageViews>();
console.log(JSON.stringify(views));
await driver.close();
`,
    );
    expect(await typecheck()).toBe('');
    const views = JSON.parse(await inDir('node', ['driver-check.ts']));
    expect(sortPageViews(views)).toEqual(expectedPageViews());
  });

  it('runs the app with `npx sluice processor --app ./my-app.ts` and emits exact counts', async () => {
    writeFileSync(join(dir, 'clicks.ndjson'), clicks.map((click) => JSON.stringify(click)).join('\n'));
    // sends them to the Click stream's topic, made with its partitions, as users would
    await inDir('npx', ['sluice', 'produce', '--kafka', '--stream', 'Click', '--file', 'clicks.ndjson']);

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
