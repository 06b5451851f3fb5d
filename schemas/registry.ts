/**
 * The schema registry, through @kafkajs/confluent-schema-registry: register Avro schemas with
 * BACKWARD compatibility, and encode/decode the Confluent wire format (magic byte 0, 4-byte
 * schema id, Avro body). Only schemas/ talks to the registry.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SluiceError } from '../common/errors.ts';

export interface SchemaRegistryClient {
  /** Registers (or finds) the schema under `subject`; an incompatible change throws SCHEMA_INCOMPATIBLE. */
  register(subject: string, schema: object): Promise<number>;
  /** The id of the latest schema registered under `subject`. */
  latestId(subject: string): Promise<number>;
  /** Avro-encodes `value` with schema `id` in the Confluent wire format. */
  encode(id: number, value: unknown): Promise<Buffer>;
  /** Decodes a Confluent wire-format buffer, fetching (and caching) its writer schema. */
  decode(buffer: Buffer): Promise<unknown>;
  /** True when the registry answers. */
  isReachable(): Promise<boolean>;
}

interface RegistryResponseError {
  status?: number;
  message?: string;
}

/** The library's requests carry the registry's `Authorization` header (basic or bearer) through this. */
type Middlewares = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>;

export function authorizationMiddleware(authorization: string | undefined): Middlewares {
  if (authorization === undefined) return [];
  return [() => ({ request: (request) => request.enhance({ headers: { authorization } }) })];
}

/** The registry answered 401 or 403: what is wrong and what to check. */
export function refused(url: string, status: number, cause: unknown): SluiceError {
  return new SluiceError(
    'REGISTRY_UNAUTHORIZED',
    `the schema registry at ${url} answered ${status}: it refused our credentials; check registry.auth (basic: username and passwordFile; bearer: tokenFile)`,
    { cause },
  );
}

async function setCompatibility(
  url: string,
  authorization: string | undefined,
  subject: string,
  compatibility: string,
): Promise<void> {
  const response = await fetch(`${url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/vnd.schemaregistry.v1+json',
      ...(authorization ? { authorization } : {}),
    },
    body: JSON.stringify({ compatibility }),
  });
  if (!response.ok) {
    throw new SluiceError(
      'REGISTRY_UNAVAILABLE',
      `setting ${compatibility} compatibility on ${subject} failed: ${response.status}`,
    );
  }
}

/** `authorization`: the registry's `Authorization` header value when it needs one (see config/secrets.ts). */
export function createSchemaRegistryClient(url: string, authorization?: string): SchemaRegistryClient {
  const registry = new SchemaRegistry({
    host: url,
    retry: { retries: 2, initialRetryTimeInSecs: 0.1 },
    middlewares: authorizationMiddleware(authorization),
  });
  async function isReachable(): Promise<boolean> {
    try {
      return (
        await fetch(`${url.replace(/\/$/, '')}/subjects`, {
          signal: AbortSignal.timeout(2000),
          headers: authorization ? { authorization } : {},
        })
      ).ok;
    } catch {
      return false;
    }
  }
  return {
    async register(subject, schema) {
      const attempt = () =>
        registry.register(
          { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        );
      try {
        for (let tries = 1; ; tries++) {
          try {
            return (await attempt()).id;
          } catch (error) {
            // several instances registering a new subject at once: the library sets BACKWARD only
            // after its first registration, so another sees the registry's default meanwhile, or
            // finds the rule already set by the first; both mean "registered, try again"
            const racing =
              (error as Error).name === 'ConfluentSchemaRegistryCompatibilityError' ||
              /rule named 'COMPATIBILITY' already exists/.test((error as Error).message ?? '');
            if (!racing || tries >= 3) throw error;
            await setCompatibility(url, authorization, subject, COMPATIBILITY.BACKWARD).catch(
              () => undefined,
            );
          }
        }
      } catch (error) {
        const { status, message } = error as RegistryResponseError;
        if (status === 409) {
          throw new SluiceError(
            'SCHEMA_INCOMPATIBLE',
            `schema for subject ${subject} is not BACKWARD compatible with the registered one: ${message}`,
            { cause: error },
          );
        }
        // the client library reports a registry it cannot connect to as a 400 too (mappersmith's
        // client error): only a registry that answers can have refused the schema
        if (status === 422 || (status === 400 && (await isReachable()))) {
          throw new SluiceError(
            'SCHEMA_INVALID',
            `the registry refused the schema for ${subject}: ${message}`,
            {
              cause: error,
            },
          );
        }
        if (status === 401 || status === 403) throw refused(url, status, error);
        throw new SluiceError('REGISTRY_UNAVAILABLE', `registering ${subject} at ${url} failed: ${message}`, {
          cause: error,
        });
      }
    },
    async latestId(subject) {
      try {
        return await registry.getLatestSchemaId(subject);
      } catch (error) {
        const { status } = error as RegistryResponseError;
        if (status === 401 || status === 403) throw refused(url, status, error);
        throw new SluiceError(
          'REGISTRY_UNAVAILABLE',
          status === 404
            ? `no schema registered under ${subject} at ${url}: register it (sluice schemas register) or let the router do it`
            : `looking up the schema of ${subject} at ${url} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
    encode: (id, value) => registry.encode(id, value),
    decode: (buffer) => registry.decode(buffer),
    isReachable,
  };
}
