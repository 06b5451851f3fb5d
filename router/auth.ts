/**
 * API keys: each bound to one tenant, stored as the SHA-256 of the key (keys are 32 random bytes,
 * so a fast hash is enough). A request presents its key as `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`. `sluice keys create` makes a key and appends its entry to the keys file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../common/errors.ts';
import { RequestProblem } from './problems.ts';

const keysFileSchema = z.object({
  keys: z
    .array(
      z
        .object({
          id: z.string().min(1),
          tenant: z.string().min(1),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
        })
        .strict(),
    )
    .default([]),
});

export type KeysFile = z.infer<typeof keysFileSchema>;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function readKeysFile(path: string): KeysFile {
  if (!existsSync(path)) return { keys: [] };
  const result = keysFileSchema.safeParse(parse(readFileSync(path, 'utf8')) ?? {});
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new SluiceError('CONFIG_INVALID', `API keys file ${path} is invalid: ${problems}`);
  }
  return result.data;
}

/** Creates a key for a tenant, appends its hashed entry to the file, and returns the key (shown once). */
export function createKey(path: string, tenant: string): { id: string; key: string } {
  const file = readKeysFile(path);
  const key = `sk_${randomBytes(32).toString('base64url')}`;
  const id = `key-${randomBytes(4).toString('hex')}`;
  file.keys.push({ id, tenant, sha256: hashKey(key) });
  writeFileSync(path, stringify(file), { mode: 0o600 });
  return { id, key };
}

export interface Authenticator {
  /** The tenant of the request's key; throws 401 problems. */
  tenantOf(headers: Record<string, string | string[] | undefined>): string;
}

export function createAuthenticator(path: string): Authenticator {
  const file = readKeysFile(path);
  if (file.keys.length === 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `authentication is on but ${path} holds no API keys: create one with \`sluice keys create --tenant <tenant> --keys-file ${path}\`, or turn auth off (--no-auth) for local use`,
    );
  }
  const tenants = new Map(file.keys.map((entry) => [entry.sha256, entry.tenant]));
  return {
    tenantOf(headers) {
      const authorization = headers.authorization;
      const bearer =
        typeof authorization === 'string' ? /^Bearer\s+(.+)$/i.exec(authorization)?.[1] : undefined;
      const key = bearer ?? (typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined);
      if (!key)
        throw new RequestProblem('ROUTER_UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>');
      const tenant = tenants.get(hashKey(key.trim()));
      if (!tenant) throw new RequestProblem('ROUTER_UNAUTHORIZED', 'unknown API key');
      return tenant;
    },
  };
}
