/**
 * The API keys file, shared by routers and processors: each entry is a key's id, its SHA-256
 * (keys are 32 random bytes, so a fast hash is enough), its role and, for tenant keys, the tenant.
 * The key itself is never stored. Writes replace the file atomically (temp file + rename), so a
 * router or processor reloading it never reads half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../errors.ts';

const keyEntry = z
  .object({
    id: z.string().min(1),
    /** tenant: publishes and queries one tenant's data; operator: status pages and every tenant's state. */
    role: z.enum(['tenant', 'operator']).default('tenant'),
    tenant: z.string().min(1).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** ISO time of creation (entries written before this field existed have none). */
    created: z.string().optional(),
  })
  .strict()
  .refine((entry) => entry.role === 'operator' || entry.tenant !== undefined, {
    message: 'a tenant key needs its tenant',
  });

const keysFileSchema = z.object({ keys: z.array(keyEntry).default([]) });

export type KeysFile = z.infer<typeof keysFileSchema>;
export type KeyEntry = z.infer<typeof keyEntry>;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function readKeysFile(path: string): KeysFile {
  if (!existsSync(path)) return { keys: [] };
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(path, 'utf8')) ?? {};
  } catch (error) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `API keys file ${path} is not valid YAML: ${(error as Error).message}`,
    );
  }
  const result = keysFileSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new SluiceError('CONFIG_INVALID', `API keys file ${path} is invalid: ${problems}`);
  }
  return result.data;
}

function writeKeysFile(path: string, file: KeysFile): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, stringify(file), { mode: 0o600 });
  renameSync(temporary, path);
}

/** Creates a key, appends its hashed entry to the file, and returns the key (shown once). */
export function createKey(
  path: string,
  owner: { role: 'tenant'; tenant: string } | { role: 'operator' },
  now = new Date(),
): { id: string; key: string } {
  const file = readKeysFile(path);
  const key = `sk_${randomBytes(32).toString('base64url')}`;
  const id = `key-${randomBytes(4).toString('hex')}`;
  file.keys.push({ id, ...owner, sha256: hashKey(key), created: now.toISOString() });
  writeKeysFile(path, file);
  return { id, key };
}

/** Removes the key `id`; false when the file has no such key. */
export function revokeKey(path: string, id: string): boolean {
  const file = readKeysFile(path);
  const kept = file.keys.filter((entry) => entry.id !== id);
  if (kept.length === file.keys.length) return false;
  writeKeysFile(path, { ...file, keys: kept });
  return true;
}
