/**
 * Real network cuts for one process: the process runs as a Unix user of its own
 * (`sluice-cut-<n>`), and an iptables owner-match rule on loopback drops or rejects that user's
 * packets to one service port. Nothing else on the machine is touched: other users (the test
 * runner, the services, every other processor) keep talking to the same ports.
 *
 * Where that user cannot read the repository (a checkout below /root, mode 700), the process runs
 * as root with only the user's group, and the rule matches the group instead (`--gid-owner`):
 * just as precise, since no other process runs with that group.
 *
 * Each cut owns the rules it added and `heal()` deletes exactly those (`iptables -D` with the same
 * specification); rules still in place when the test process exits are deleted then, and rules
 * of test processes that died without that (SIGKILL) at the next cut, so a failed or timed-out
 * test never leaves a port cut. Needs root and iptables (scripts/setup installs it);
 * `networkCutsUnavailable()` says why not when they are missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CutUser {
  readonly name: string;
  /** What to spawn its processes with (`spawn(..., { uid, gid })`). */
  readonly uid: number;
  readonly gid: number;
  /** The iptables match singling out those processes' packets. */
  readonly owner: readonly ['--uid-owner' | '--gid-owner', string];
}

/**
 * How packets are cut: `drop` (silence: connects and requests time out), `reject` (TCP reset:
 * connects are refused, open connections reset), `unreachable` (ICMP host unreachable: connects
 * fail with EHOSTUNREACH, open connections retransmit in silence), `reset-unreachable` (open
 * connections reset, new connects fail with EHOSTUNREACH: a peer that went away).
 */
export type CutMode = 'drop' | 'reject' | 'unreachable' | 'reset-unreachable';

export interface NetworkCut {
  readonly user: CutUser;
  readonly ports: readonly number[];
  readonly mode: CutMode;
  /** Deletes the rules this cut added; safe to call twice. */
  heal(): void;
  isHealed(): boolean;
}

const drop = ['-j', 'DROP'];
const reset = ['-j', 'REJECT', '--reject-with', 'tcp-reset'];
const unreachable = ['-j', 'REJECT', '--reject-with', 'icmp-host-unreachable'];
/** The rules of a mode, in order: the first that matches a packet decides (`--syn`: connects only). */
const rulesOf: Record<CutMode, { match: string[]; target: string[] }[]> = {
  drop: [{ match: [], target: drop }],
  reject: [{ match: [], target: reset }],
  unreachable: [{ match: [], target: unreachable }],
  'reset-unreachable': [
    { match: ['--syn'], target: unreachable },
    { match: [], target: reset },
  ],
};

const live = new Set<NetworkCut>();
process.once('exit', () => {
  for (const cut of live) cut.heal();
});

/** `-w`: wait for the xtables lock rather than fail when another process edits rules. */
function iptables(args: string[]): void {
  execFileSync('iptables', ['-w', '5', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why cuts cannot run here (to skip with), or undefined when they can. */
export function networkCutsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network cuts need root (iptables rules and spawning as another user)';
  try {
    iptables(['-S', 'OUTPUT']);
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    return `iptables does not work here (${detail}): run scripts/setup, which installs it and picks a working backend`;
  }
  return undefined;
}

/**
 * The Unix user `sluice-cut-<index>` (created, a system user without home, when missing). With
 * `byGroup`, or when that user cannot read the repository, its processes run as root with the
 * user's group only and cuts match the group.
 */
export function cutUser(index = 0, options: { byGroup?: boolean } = {}): CutUser {
  const name = `sluice-cut-${index}`;
  const lookup = () => spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    const created = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name],
      { encoding: 'utf8' },
    );
    // 9: another test file created it meanwhile
    if (created.status !== 0 && created.status !== 9) {
      throw new Error(`cannot create the user ${name} for network cuts: ${created.stderr || created.error}`);
    }
  }
  const uid = Number(lookup().stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  const unreadable = options.byGroup ? undefined : whyRepositoryUnreadable(uid, gid);
  if (!options.byGroup && !unreadable) return { name, uid, gid, owner: ['--uid-owner', String(uid)] };
  if (unreadable && !warnedUnreadable) {
    warnedUnreadable = true;
    console.warn(
      `${name} cannot read ${repoRoot} (${unreadable}): cut processes run as root in group ${name}`,
    );
  }
  return { name, uid: 0, gid, owner: ['--gid-owner', String(gid)] };
}

let warnedUnreadable = false;

/** Why a process of uid/gid cannot read the sources and node_modules, or undefined if it can. */
function whyRepositoryUnreadable(uid: number, gid: number): string | undefined {
  const paths = [join(repoRoot, 'bin', 'sluice.js'), join(repoRoot, 'node_modules', 'tsx', 'package.json')];
  const check = spawnSync(
    process.execPath,
    [
      '-e',
      'try { for (const path of process.argv.slice(1)) require("fs").accessSync(path, 4) } ' +
        'catch (error) { console.error(error.message); process.exit(1) }',
      ...paths,
    ],
    { uid, gid, encoding: 'utf8', env: { PATH: process.env.PATH } },
  );
  if (check.error) return check.error.message;
  return check.status === 0 ? undefined : check.stderr.trim() || `exit ${check.status}`;
}

const commentPrefix = 'sluice test cut (pid ';

/** The OUTPUT chain as `iptables -S` prints it, for failure messages. */
export function outputRules(): string {
  return execFileSync('iptables', ['-w', '5', '-S', 'OUTPUT'], { encoding: 'utf8' });
}

/**
 * Deletes rules left by test processes that died without running their exit handler (SIGKILL):
 * each rule names its process in a comment.
 */
function removeStaleCuts(): void {
  for (const line of outputRules().split('\n')) {
    const owner = /--comment "sluice test cut \(pid (\d+)\)"/.exec(line);
    if (!owner || isAlive(Number(owner[1]))) continue;
    // `-S` prints the rule as it was added; only the comment is quoted
    const [before, comment, after] = line.replace(/^-A /, '').split('"');
    iptables(['-D', ...before!.trim().split(/\s+/), comment!, ...after!.trim().split(/\s+/).filter(Boolean)]);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let staleCutsRemoved = false;

/** Cuts `user` off from `ports` on loopback until `heal()`. */
export function cutOff(user: CutUser, ports: readonly number[], mode: CutMode): NetworkCut {
  if (!staleCutsRemoved) {
    removeStaleCuts();
    staleCutsRemoved = true;
  }
  const rules = ports.flatMap((port) =>
    rulesOf[mode].map(({ match, target }) => [
      'OUTPUT',
      '-o',
      'lo',
      '-p',
      'tcp',
      ...match,
      '--dport',
      String(port),
      '-m',
      'owner',
      ...user.owner,
      '-m',
      'comment',
      '--comment',
      `${commentPrefix}${process.pid})`,
      ...target,
    ]),
  );
  const added: string[][] = [];
  let healed = false;
  const cut: NetworkCut = {
    user,
    ports,
    mode,
    heal() {
      if (healed) return;
      healed = true;
      live.delete(cut);
      const failures: string[] = [];
      for (const rule of added.splice(0)) {
        try {
          iptables(['-D', ...rule]);
        } catch (error) {
          failures.push(`${rule.join(' ')}: ${(error as Error).message}`);
        }
      }
      if (failures.length > 0) throw new Error(`could not delete cut rules:\n${failures.join('\n')}`);
    },
    isHealed: () => healed,
  };
  live.add(cut);
  try {
    for (const rule of rules) {
      iptables(['-A', ...rule]);
      added.push(rule);
    }
  } catch (error) {
    cut.heal();
    throw new Error(
      `could not add a cut rule for ${user.name} on ports ${ports.join(', ')}: ${(error as Error).message}`,
    );
  }
  return cut;
}

/** The port of `host:port` or of a URL, for the services a test cuts. */
export function portOf(endpoint: string): number {
  const url = /^[a-z]+:\/\//.test(endpoint) ? new URL(endpoint) : new URL(`tcp://${endpoint.split(',')[0]}`);
  const port = Number(url.port);
  if (!port) throw new Error(`no port in ${endpoint}: cuts need the service's explicit port`);
  return port;
}
