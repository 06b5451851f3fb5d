/**
 * The keys a running router or processor accepts, kept current: the keys file is read at start,
 * re-read when it changes (polled every `pollMs`, one second by default) and at once on SIGHUP.
 * A revoked key stops working within two polls; a file that fails to parse keeps the previous keys
 * (and says so in the log) rather than locking everyone out.
 */
import { statSync } from 'node:fs';
import { SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { hashKey, readKeysFile } from './keys-file.ts';

export type Identity =
  | { keyId: string; role: 'tenant'; tenant: string }
  | { keyId: string; role: 'operator' };

export interface KeyStore {
  /** Who holds the key, or undefined for an unknown (or revoked) key. */
  identify(key: string): Identity | undefined;
  /** Re-reads the file now. */
  reload(): void;
  close(): void;
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  const bearer = typeof authorization === 'string' ? /^Bearer\s+(.+)$/i.exec(authorization)?.[1] : undefined;
  const key = bearer ?? (typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined);
  return key?.trim() || undefined;
}

function indexKeys(path: string): Map<string, Identity> {
  return new Map(
    readKeysFile(path).keys.map((entry) => [
      entry.sha256,
      entry.role === 'operator'
        ? { keyId: entry.id, role: 'operator' as const }
        : { keyId: entry.id, role: 'tenant' as const, tenant: entry.tenant! },
    ]),
  );
}

/** What changes when the file is rewritten or replaced (a renamed temp file, a Kubernetes Secret update). */
function fileVersion(path: string): string {
  try {
    const stats = statSync(path);
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export function createKeyStore(path: string, options: { logger?: Logger; pollMs?: number } = {}): KeyStore {
  // the version is taken before the read: a change in between is seen by the next poll
  let version = fileVersion(path);
  let keys = indexKeys(path);
  if (keys.size === 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `authentication is on but ${path} holds no API keys: create one with \`sluice keys create --tenant <tenant> --keys-file ${path}\` (or --operator), or turn auth off for local use`,
    );
  }
  const reload = () => {
    version = fileVersion(path);
    try {
      keys = indexKeys(path);
      options.logger?.info({ keysFile: path, keys: keys.size }, 'API keys reloaded');
    } catch (error) {
      options.logger?.error({ err: error }, 'API keys file unreadable: keeping the previous keys');
    }
  };
  // our own poll rather than fs.watchFile, whose first stat runs later and can miss an early change
  const poll = setInterval(() => {
    if (fileVersion(path) !== version) reload();
  }, options.pollMs ?? 1000);
  poll.unref();
  const onHangup = () => reload();
  process.on('SIGHUP', onHangup);
  return {
    identify: (key) => keys.get(hashKey(key)),
    reload,
    close() {
      clearInterval(poll);
      process.off('SIGHUP', onHangup);
    },
  };
}
