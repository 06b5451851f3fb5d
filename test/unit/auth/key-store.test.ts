import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyStore, type KeyStore, presentedKey } from '../../../common/auth/key-store.ts';
import { createKey, readKeysFile, revokeKey } from '../../../common/auth/keys-file.ts';
import { waitFor } from '../../env/wait.ts';

const newKeysFile = () => join(mkdtempSync(join(tmpdir(), 'sluice-keys-')), 'api-keys.yaml');

describe('the API key store', () => {
  let store: KeyStore | undefined;
  afterEach(() => store?.close());

  it('identifies tenant and operator keys, and refuses a file without keys', () => {
    const file = newKeysFile();
    expect(() => createKeyStore(file)).toThrow(/holds no API keys: create one with `sluice keys create/);
    const tenant = createKey(file, { role: 'tenant', tenant: 'acme' });
    const operator = createKey(file, { role: 'operator' });
    store = createKeyStore(file);
    expect(store.identify(tenant.key)).toEqual({ keyId: tenant.id, role: 'tenant', tenant: 'acme' });
    expect(store.identify(operator.key)).toEqual({ keyId: operator.id, role: 'operator' });
    expect(store.identify('sk_unknown')).toBeUndefined();
    expect(readKeysFile(file).keys.map((entry) => entry.sha256)).not.toContain(tenant.key);
  });

  it('reloads on SIGHUP: a revoked key is refused, a new one accepted', () => {
    const file = newKeysFile();
    const old = createKey(file, { role: 'tenant', tenant: 'acme' });
    // a poll far away, so only the signal can explain the reload
    store = createKeyStore(file, { pollMs: 3_600_000 });
    const fresh = createKey(file, { role: 'tenant', tenant: 'acme' });
    revokeKey(file, old.id);
    expect(store.identify(old.key)).toBeDefined();
    process.emit('SIGHUP', 'SIGHUP');
    expect(store.identify(old.key)).toBeUndefined();
    expect(store.identify(fresh.key)?.keyId).toBe(fresh.id);
  });

  it('reloads when the file changes, and keeps the previous keys when the new file is broken', async () => {
    const file = newKeysFile();
    const first = createKey(file, { role: 'tenant', tenant: 'acme' });
    store = createKeyStore(file, { pollMs: 20 });
    const second = createKey(file, { role: 'operator' });
    const current = store;
    await waitFor('the new key to load', () => current.identify(second.key) !== undefined, {
      timeoutMs: 5000,
    });
    writeFileSync(file, 'keys: [ { id: broken } ]');
    process.emit('SIGHUP', 'SIGHUP');
    expect(store.identify(first.key)?.keyId).toBe(first.id);
  });

  it('takes the key from Authorization: Bearer or X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer sk_a ' })).toBe('sk_a');
    expect(presentedKey({ 'x-api-key': 'sk_b' })).toBe('sk_b');
    expect(presentedKey({ authorization: 'Basic xyz' })).toBeUndefined();
  });
});
