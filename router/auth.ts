/**
 * The router's view of API keys (common/auth/): a request presents a tenant key as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`, and may publish only that tenant's events.
 */
import { createKeyStore, type KeyStore, presentedKey } from '../common/auth/key-store.ts';
import type { Logger } from '../common/log.ts';
import { RequestProblem } from './problems.ts';

export interface Authenticator {
  /** The tenant of the request's key; throws 401 problems (403 for an operator key, which publishes nothing). */
  tenantOf(headers: Record<string, string | string[] | undefined>): string;
  close(): void;
}

export function createAuthenticator(path: string, options: { logger?: Logger } = {}): Authenticator {
  return authenticatorOver(createKeyStore(path, options));
}

export function authenticatorOver(keys: KeyStore): Authenticator {
  return {
    tenantOf(headers) {
      const key = presentedKey(headers);
      if (!key)
        throw new RequestProblem('ROUTER_UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>');
      const identity = keys.identify(key);
      if (!identity) throw new RequestProblem('ROUTER_UNAUTHORIZED', 'unknown API key');
      if (identity.role !== 'tenant') {
        throw new RequestProblem(
          'ROUTER_FORBIDDEN_TENANT',
          `key ${identity.keyId} is an operator key: publishing needs a tenant key`,
        );
      }
      return identity.tenant;
    },
    close: () => keys.close(),
  };
}
