/**
 * Opens a task's store and decides where its changelog replay starts. A store that cannot be
 * opened, has no valid changelog position, or claims a position past the changelog's end
 * (the topic was recreated) is wiped and rebuilt from the whole changelog (invariant 5), and so is
 * one the recovery policy found corrupted.
 */
import { join } from 'node:path';
import { isSluiceError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { destroyStore, openRocksDbStore } from './rocksdb-store.ts';
import type { KeyValueStore } from './store.ts';

export function storePath(stateDir: string, appId: string, store: string, partition: number): string {
  return join(stateDir, appId, store, String(partition));
}

export async function openCheckedStore(
  path: string,
  changelog: { high: string },
  logger: Logger,
  options: { wipe?: boolean } = {},
): Promise<{ store: KeyValueStore; from: string | undefined }> {
  let store: KeyValueStore;
  if (options.wipe) {
    // the recovery policy found it corrupted; opening it first proves no other process uses it
    try {
      await (await openRocksDbStore(path)).close();
    } catch (error) {
      if (isSluiceError(error, 'STORE_IN_USE')) throw error;
    }
    logger.warn({ path }, 'store corrupted: wiping it and restoring the whole changelog');
    destroyStore(path);
    return { store: await openRocksDbStore(path), from: undefined };
  }
  try {
    store = await openRocksDbStore(path);
  } catch (error) {
    // another process has it open: never wipe what someone else is using
    if (isSluiceError(error, 'STORE_IN_USE')) throw error;
    logger.warn({ path, err: error }, 'store unreadable: wiping it and restoring the whole changelog');
    destroyStore(path);
    return { store: await openRocksDbStore(path), from: undefined };
  }
  const position = await store.changelogPosition();
  const beyondEnd = position !== undefined && BigInt(position) > BigInt(changelog.high);
  if (position === undefined || beyondEnd) {
    logger.warn(
      { path, position, changelogEnd: changelog.high },
      position === undefined
        ? 'store has no valid changelog position: wiping it and restoring the whole changelog'
        : 'store is ahead of its changelog (recreated topic?): wiping it and restoring the whole changelog',
    );
    await store.close();
    destroyStore(path);
    return { store: await openRocksDbStore(path), from: undefined };
  }
  return { store, from: position };
}
