/**
 * The network-cut machinery itself: a process of the cut user cannot reach the Kafka port while
 * cut (DROP: silence, REJECT: refused, unreachable: EHOSTUNREACH), can again after the heal, and
 * nobody else is affected meanwhile. Also: a sluice process runs as that user at all.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CutMode,
  type CutUser,
  cutOff,
  cutUser,
  type NetworkCut,
  networkCutsUnavailable,
  portOf,
} from '../../env/network-cut.ts';
import { testServices } from '../../env/services.ts';
import { runSluice } from '../../env/sluice-process.ts';

const unavailable = networkCutsUnavailable();
if (unavailable) console.warn(`skipping network-cut tests: ${unavailable}`);

// a connect that gets no answer within this time is reported as 'timeout'
const connectTimeoutMs = 1500;
const probeScript = `
const socket = require('net').connect({ host: '127.0.0.1', port: Number(process.argv[1]) });
const done = (result) => { process.stdout.write(result); socket.destroy(); process.exit(0); };
socket.setTimeout(${connectTimeoutMs}, () => done('timeout'));
socket.on('connect', () => done('connected'));
socket.on('error', (error) => done(error.code));
`;

/** Connects to a loopback port as `user` (or as this process's user) and says what happened. */
function probe(port: number, user?: CutUser): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', probeScript, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

const cuts: NetworkCut[] = [];
afterEach(() => {
  for (const cut of cuts.splice(0)) cut.heal();
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
      expect(await probe(kafkaPort, victim)).toBe('connected');

      const cut = cutOff(victim, [kafkaPort], mode);
      cuts.push(cut);
      expect(await probe(kafkaPort, victim)).toBe(whileCut);
      expect(await probe(kafkaPort, bystander)).toBe('connected');
      expect(await probe(kafkaPort)).toBe('connected');

      cut.heal();
      expect(cut.isHealed()).toBe(true);
      expect(await probe(kafkaPort, victim)).toBe('connected');
    },
  );

  it('cuts only the ports it names', async () => {
    const services = testServices();
    const victim = cutUser(0);
    cuts.push(cutOff(victim, [portOf(services.databaseUrl)], 'reject'));
    expect(await probe(portOf(services.databaseUrl), victim)).toBe('ECONNREFUSED');
    expect(await probe(portOf(services.kafkaBrokers), victim)).toBe('connected');
  });

  it('runs sluice as the cut user (it reads the repository, tsx compiles for it)', async () => {
    const victim = cutUser(0);
    const result = await runSluice(['--version'], { user: victim });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});
