/**
 * The network-cut machinery itself: a process of the cut user cannot reach the Kafka port while
 * cut (DROP: silence, REJECT: refused, unreachable: EHOSTUNREACH), can again after the heal, and
 * nobody else is affected meanwhile. Also: a sluice process runs as that user at all.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CutMode,
  type CutUser,
  cutOff,
  cutUser,
  type NetworkCut,
  networkCutsUnavailable,
  outputRules,
  portOf,
} from '../../env/network-cut.ts';
import { testServices } from '../../env/services.ts';
import { runSluice } from '../../env/sluice-process.ts';

const unavailable = networkCutsUnavailable();
if (unavailable) console.warn(`skipping network-cut tests: ${unavailable}`);

// a connect or request that gets no answer within this time is reported as 'timeout'
const answerTimeoutMs = 1500;
// connect: prints what connecting gave; open: connects, prints 'open', and on a line from stdin
// sends an HTTP request over that connection and prints what came of it
const probeScript = `
const [port, phase] = process.argv.slice(1);
const socket = require('net').connect({ host: '127.0.0.1', port: Number(port) });
const done = (result) => { process.stdout.write(result); socket.destroy(); process.exit(0); };
socket.on('error', (error) => done(error.code));
socket.on('data', () => done('answered'));
socket.setTimeout(${answerTimeoutMs}, () => done('timeout'));
socket.on('connect', () => {
  if (phase === 'connect') return done('connected');
  socket.setTimeout(0);
  process.stdout.write('open\\n');
  process.stdin.once('data', () => {
    socket.setTimeout(${answerTimeoutMs}, () => done('timeout'));
    socket.write('GET / HTTP/1.0\\r\\n\\r\\n');
  });
});
`;

function spawnProbe(port: number, phase: 'connect' | 'open', user?: CutUser) {
  const child = spawn(process.execPath, ['-e', probeScript, String(port), phase], {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let out = '';
  const result = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', () => resolve(out.replace(/^open\n/, '')));
  });
  const opened = new Promise<void>((resolve) =>
    child.stdout.on('data', () => out.startsWith('open') && resolve()),
  );
  return { child, result, opened };
}

/** Connects to a loopback port as `user` (or as this process's user) and says what happened. */
const probe = (port: number, user?: CutUser) => spawnProbe(port, 'connect', user).result;

/** Probes and expects `expected`; a mismatch shows the rules in force (another cut, a firewall). */
async function expectProbe(port: number, user: CutUser | undefined, expected: string) {
  const result = await probe(port, user);
  expect(result, `connecting as ${user?.name ?? 'root'}; OUTPUT rules now:\n${outputRules()}`).toBe(expected);
}

const cuts: NetworkCut[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cut of cuts.splice(0)) cut.heal();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe.skipIf(unavailable)('network cuts (iptables owner match on loopback)', () => {
  const expectations: [CutMode, string][] = [
    ['drop', 'timeout'],
    ['reject', 'ECONNREFUSED'],
    ['unreachable', 'EHOSTUNREACH'],
  ];
  it.each(expectations)(
    '%s: the cut user gets %s, others connect; after heal it connects again',
    async (mode, whileCut) => {
      const kafkaPort = portOf(testServices().kafkaBrokers);
      const victim = cutUser(0);
      const bystander = cutUser(1);
      await expectProbe(kafkaPort, victim, 'connected');

      const cut = cutOff(victim, [kafkaPort], mode);
      cuts.push(cut);
      await expectProbe(kafkaPort, victim, whileCut);
      await expectProbe(kafkaPort, bystander, 'connected');
      await expectProbe(kafkaPort, undefined, 'connected');

      cut.heal();
      expect(cut.isHealed()).toBe(true);
      await expectProbe(kafkaPort, victim, 'connected');
    },
  );

  const openConnection: [CutMode, string][] = [
    ['drop', 'timeout'],
    ['reject', 'ECONNRESET'],
    ['unreachable', 'timeout'],
    ['reset-unreachable', 'ECONNRESET'],
  ];
  it.each(openConnection)('%s: a connection opened before the cut gets %s', async (mode, whileCut) => {
    const server: Server = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      // connections whose close the cut swallowed stay open on this side: end them too
      () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
    );
    const port = (server.address() as { port: number }).port;
    const victim = cutUser(0);

    const healthy = spawnProbe(port, 'open', victim);
    await healthy.opened;
    healthy.child.stdin.end('go\n');
    expect(await healthy.result).toBe('answered');

    const open = spawnProbe(port, 'open', victim);
    await open.opened;
    cuts.push(cutOff(victim, [port], mode));
    open.child.stdin.end('go\n');
    expect(await open.result).toBe(whileCut);
    if (mode === 'reset-unreachable') await expectProbe(port, victim, 'EHOSTUNREACH');
  });

  it('by group (where the user cannot read the repository): only processes of that group are cut', async () => {
    const kafkaPort = portOf(testServices().kafkaBrokers);
    const byGroup = cutUser(0, { byGroup: true });
    expect(byGroup).toMatchObject({ uid: 0, owner: ['--gid-owner', String(byGroup.gid)] });
    cuts.push(cutOff(byGroup, [kafkaPort], 'reject'));
    await expectProbe(kafkaPort, byGroup, 'ECONNREFUSED');
    await expectProbe(kafkaPort, undefined, 'connected'); // root in its own group
    await expectProbe(kafkaPort, cutUser(1), 'connected');
  });

  it('cuts only the ports it names', async () => {
    const services = testServices();
    const victim = cutUser(0);
    cuts.push(cutOff(victim, [portOf(services.databaseUrl)], 'reject'));
    await expectProbe(portOf(services.databaseUrl), victim, 'ECONNREFUSED');
    await expectProbe(portOf(services.kafkaBrokers), victim, 'connected');
  });

  // a first start compiles the CLI into the user's own tsx cache: slow on a busy machine
  it('runs sluice as the cut user (it reads the repository, tsx compiles for it)', {
    timeout: 180_000,
  }, async () => {
    const victim = cutUser(0);
    const result = await runSluice(['--version'], { user: victim, timeoutMs: 170_000 });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});
