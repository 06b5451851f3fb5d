/**
 * A cluster instance's identity is its state directory: the id is created once, kept in
 * `<stateDir>/<app>/instance/id`, and is the holder of the slot's lease. A restarted instance on
 * the same disk is therefore the lease's holder already and takes it back at once (with a new
 * epoch, lease-repository.ts `acquireOrWait`) instead of waiting a TTL for its dead self; its
 * store is there too, so it replays only the changelog tail.
 *
 * The danger of an identity shared by two live processes is handled twice:
 * - one state directory, one process: the directory is claimed by holding the LOCK of a tiny
 *   RocksDB beside the id (a kernel lock, released when the process dies, SIGKILL included, and
 *   kept while it is SIGSTOPped); a second process on the directory is refused with what to do;
 * - a copy of the directory (a restored volume snapshot, a network file system without locks)
 *   gives two processes one id: each acquisition bumps the lease's epoch, a renewal needs holder
 *   *and* epoch, and the transactional ids are fenced by the taker, so the older process loses the
 *   lease at its next renewal and cannot commit meanwhile (exactly once holds; e2e-tested).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isSluiceError, SluiceError } from '../../common/errors.ts';
import { openRocksDbStore } from '../state/rocksdb-store.ts';

export interface StateDirectoryClaim {
  /** The lease holder name of this instance: the same on every start on this state directory. */
  readonly instanceId: string;
  /** Gives the directory up (clean stop); a dead process gives it up by dying. */
  release(): Promise<void>;
}

export function instanceDirectory(stateDir: string, appId: string): string {
  return join(stateDir, appId, 'instance');
}

/** Writes a small file whole or not at all (a crash between write and rename leaves the old one). */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { flush: true });
  renameSync(`${path}.tmp`, path);
}

/** Claims the app's state directory for this process and returns its stable identity. */
export async function claimStateDirectory(stateDir: string, appId: string): Promise<StateDirectoryClaim> {
  const dir = instanceDirectory(stateDir, appId);
  mkdirSync(dir, { recursive: true });
  const ownerFile = join(dir, 'owner');
  let lock: Awaited<ReturnType<typeof openRocksDbStore>>;
  try {
    lock = await openRocksDbStore(join(dir, 'lock'));
  } catch (error) {
    if (!isSluiceError(error, 'STORE_IN_USE')) throw error;
    const owner = existsSync(ownerFile) ? readFileSync(ownerFile, 'utf8').trim() : 'unknown';
    throw new SluiceError(
      'STATE_DIR_IN_USE',
      `the state directory ${stateDir} of app ${appId} is in use by another processor (${owner}): two processes on one state directory would share its stores and its lease identity. Stop that process first, or give this one its own --state-dir`,
      { cause: error },
    );
  }
  const idFile = join(dir, 'id');
  let instanceId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  if (instanceId === '') {
    instanceId = `${hostname()}-${randomUUID().slice(0, 8)}`;
    writeAtomically(idFile, `${instanceId}\n`);
  }
  // for the refusal message of a second process: who holds the directory now
  writeAtomically(ownerFile, `pid ${process.pid} on ${hostname()}, since ${new Date().toISOString()}\n`);
  return {
    instanceId,
    release: () => lock.close(),
  };
}
