/**
 * A throwaway PostgreSQL cluster from Debian's packages: initdb into the run directory, started
 * with pg_ctl on loopback. The server refuses to run as root, so as root it runs as `postgres`.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { SluiceError } from '../common/errors.ts';
import { isPortOpen, runCommand, waitUntil } from './processes.ts';
import type { DevService, ServiceStatus } from './service.ts';

export interface PostgresServiceOptions {
  port: number;
  dir: string;
  /** @default 'sluice' */
  database?: string;
}

const debianRoot = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL installed from Debian's packages. */
function findBinDir(): string {
  const versions = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((name) => existsSync(join(debianRoot, name, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new SluiceError(
      'DEV_TOOL_MISSING',
      "PostgreSQL server not found: install Debian's package (apt-get install postgresql) or set DATABASE_URL",
    );
  }
  return join(debianRoot, versions[0]!, 'bin');
}

/** As root, commands run as the `postgres` user (created by Debian's package). */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/** As root, the owner the data directory needs: the `postgres` user from /etc/passwd. */
function serverUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry)
    throw new SluiceError('DEV_TOOL_MISSING', "no `postgres` user: install Debian's postgresql package");
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

export function createPostgresService(options: PostgresServiceOptions): DevService {
  const database = options.database ?? 'sluice';
  const dataDir = join(options.dir, 'data');
  const logFile = join(options.dir, 'postgres.log');
  const endpoint = `postgres://postgres@127.0.0.1:${options.port}/${database}`;
  let version = 'unknown';

  const run = async (tool: string, args: string[], what: string) => {
    const [command, fullArgs] = asServerUser(join(findBinDir(), tool), args);
    return runCommand(command, fullArgs, { what });
  };
  const accepts = async () => {
    const client = new pg.Client({
      connectionString: endpoint.replace(`/${database}`, '/postgres'),
      connectionTimeoutMillis: 2000,
    });
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const isOurs = async () => {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) return false;
    try {
      await run('pg_ctl', ['status', '-D', dataDir], 'pg_ctl status');
      return true;
    } catch {
      return false;
    }
  };

  const service: DevService = {
    name: 'postgres',
    envVar: 'DATABASE_URL',
    endpoint,
    get version() {
      return version;
    },

    async install() {
      const { stdout } = await runCommand(join(findBinDir(), 'postgres'), ['--version'], {
        what: 'postgres --version',
      });
      version =
        stdout
          .trim()
          .replace(/^postgres \(PostgreSQL\) /, '')
          .split(' ')[0] ?? 'unknown';
    },

    async start(progress) {
      await service.install(progress);
      if ((await isOurs()) && (await accepts())) return 'already running';
      if (await isPortOpen(options.port)) {
        throw new SluiceError(
          'DEV_PORT_IN_USE',
          `port ${options.port} (PostgreSQL) is in use by another process: stop it or set SLUICE_DEV_POSTGRES_PORT`,
        );
      }
      mkdirSync(dataDir, { recursive: true });
      const owner = serverUserIds();
      if (owner) {
        chownSync(options.dir, owner.uid, owner.gid);
        chownSync(dataDir, owner.uid, owner.gid);
        await checkReachable(options.dir);
      }
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        progress(`creating a PostgreSQL ${version} cluster in ${dataDir}`);
        await run(
          'initdb',
          ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
          'initdb',
        );
      }
      // written at every start, not only by initdb: a cluster left by an earlier run with other
      // settings (another port) would start fine and never answer on this one
      const autoConf = join(dataDir, 'postgresql.auto.conf');
      writeFileSync(
        autoConf,
        // fsync only matters when the machine itself crashes; commits still wait for the WAL write
        `listen_addresses = '127.0.0.1'\nport = ${options.port}\nunix_socket_directories = '${options.dir}'\nfsync = off\nmax_connections = 300\n`,
      );
      if (owner) chownSync(autoConf, owner.uid, owner.gid);
      progress(`starting PostgreSQL ${version} on 127.0.0.1:${options.port}`);
      await run('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile], 'starting PostgreSQL');
      await waitUntil(accepts, { deadlineMs: 30_000, what: `PostgreSQL on port ${options.port}`, logFile });
      await ensureDatabase(endpoint.replace(`/${database}`, '/postgres'), database);
      return 'started';
    },

    async stop() {
      if (!(await isOurs())) return 'not running';
      await run('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', dataDir], 'stopping PostgreSQL');
      return 'stopped';
    },

    async status(): Promise<ServiceStatus> {
      await service.install(() => undefined).catch(() => undefined);
      const up = (await isOurs()) && (await accepts());
      return { name: 'postgres', state: up ? 'running' : 'stopped', version, endpoint, logFile };
    },
  };
  return service;
}

/** As root the server runs as `postgres`, which must be able to enter every parent of its directory. */
async function checkReachable(dir: string): Promise<void> {
  try {
    await runCommand('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { what: 'checking access' });
  } catch {
    throw new SluiceError(
      'DEV_START_FAILED',
      `the postgres user cannot reach ${dir}: make its parent directories traversable (chmod o+x) or set SLUICE_DEV_DIR to a directory under /tmp`,
    );
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}
