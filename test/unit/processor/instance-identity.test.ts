/**
 * The state directory's identity and claim (processor/coordination/instance-identity.ts) on a real
 * RocksDB: the id survives releases and restarts, a second claim while held is refused with who
 * holds it, and an empty directory is a new identity. (Across processes: test/e2e/restart-identity.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../common/errors.ts';
import { claimStateDirectory, instanceDirectory } from '../../../processor/coordination/instance-identity.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-identity-'));
  dirs.push(dir);
  return dir;
};

describe('the instance identity of a state directory', () => {
  it('is created once and kept: the same id after a release and a new claim', async () => {
    const dir = stateDir();
    const first = await claimStateDirectory(dir, 'app');
    await first.release();
    const second = await claimStateDirectory(dir, 'app');
    expect(second.instanceId).toBe(first.instanceId);
    expect(readFileSync(join(instanceDirectory(dir, 'app'), 'id'), 'utf8').trim()).toBe(first.instanceId);
    await second.release();
  });

  it('refuses a second claim while the directory is held, naming the holder', async () => {
    const dir = stateDir();
    const held = await claimStateDirectory(dir, 'app');
    const refusal = await claimStateDirectory(dir, 'app').catch((error: unknown) => error);
    expect(isSluiceError(refusal, 'STATE_DIR_IN_USE')).toBe(true);
    expect((refusal as Error).message).toMatch(
      new RegExp(`in use by another processor \\(pid ${process.pid} `),
    );
    await held.release();
    await (await claimStateDirectory(dir, 'app')).release();
  });

  it('is another identity on another (or an emptied) directory, and per app', async () => {
    const one = await claimStateDirectory(stateDir(), 'app');
    const other = await claimStateDirectory(stateDir(), 'app');
    const dir = stateDir();
    const [a, b] = await Promise.all([claimStateDirectory(dir, 'a'), claimStateDirectory(dir, 'b')]);
    expect(new Set([one, other, a, b].map((claim) => claim.instanceId)).size).toBe(4);
    await Promise.all([one, other, a, b].map((claim) => claim.release()));
  });
});
