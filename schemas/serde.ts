/**
 * Avro in the Confluent wire format for the processor's hot path: decoding and encoding are
 * synchronous once a schema is known. Writer schemas are fetched (and cached) through the
 * registry library by `prepare`; only the 5-byte framing (magic 0, big-endian schema id) is
 * read and written here, because the library's per-record async encode/decode dominated a
 * batch's cost.
 *
 * Longs are exact (exact-long.ts). A decoded long is a number when a JS number holds it exactly;
 * beyond ±(2^53−1) the default is to refuse the record (DecodeError: the processor dead-letters
 * it with its original bytes) rather than hand apps a bigint that their arithmetic would mix
 * with numbers; tools that need the value ask for `longs: 'bigint'`.
 */

import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { SluiceError } from '../common/errors.ts';
import { type ExactLongOptions, exactAvroType, UnsafeLongError } from './exact-long.ts';
import { authorizationMiddleware, refused } from './registry.ts';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export interface Serde {
  /**
   * Fetches the writer schemas these buffers refer to; unknown ids (the registry answers 404) stay
   * unknown (decode then fails: a dead letter). A registry that does not answer throws
   * REGISTRY_UNAVAILABLE and nothing is remembered, so the same buffers can be prepared again.
   */
  prepare(buffers: readonly (Buffer | null)[]): Promise<void>;
  /** Decodes one value; throws DecodeError on bad framing, unknown schema or a corrupt body. */
  decode(buffer: Buffer | null): unknown;
  /** Encodes with a schema registered under `id` (see `encoderFor`). */
  encoderFor(id: number, type: avro.Type): (value: unknown) => Buffer;
}

interface SchemaLike {
  fromBuffer?: (buffer: Buffer) => unknown;
  schema?: (options: { exportAttrs: boolean }) => unknown;
}

export function createSerde(
  registryUrl: string,
  options: {
    longs?: ExactLongOptions['beyondSafe'];
    /** The registry's Authorization header value (basic or bearer), when it needs one. */
    authorization?: string;
    /** Writer schemas known without asking the registry, by id (sluice/testing runs without one). */
    known?: ReadonlyMap<number, avro.Type>;
  } = {},
): Serde {
  const beyondSafe = options.longs ?? 'refuse';
  const { authorization } = options;
  const registry = new SchemaRegistry({
    host: registryUrl,
    retry: { retries: 2, initialRetryTimeInSecs: 0.1 },
    middlewares: authorizationMiddleware(authorization),
  });
  const types = new Map<number, SchemaLike>(options.known ?? []);
  const missing = new Set<number>();

  const idOf = (buffer: Buffer) =>
    buffer.length >= 5 && buffer[0] === 0 ? buffer.readInt32BE(1) : undefined;

  return {
    async prepare(buffers) {
      const wanted = new Set<number>();
      for (const buffer of buffers) {
        const id = buffer ? idOf(buffer) : undefined;
        if (id !== undefined && !types.has(id) && !missing.has(id)) wanted.add(id);
      }
      for (const id of wanted) {
        let fetched: SchemaLike;
        try {
          fetched = (await registry.getSchema(id)) as SchemaLike;
        } catch (error) {
          // a 404 is a record written with a schema this registry does not know: a dead letter;
          // anything else (refused, timed out, 5xx) says nothing about the record: wait for the registry
          const status = (error as { status?: number }).status;
          // refused credentials no retry fixes: the instance stops and says so
          if (status === 401 || status === 403) throw refused(registryUrl, status, error);
          if (status !== 404)
            throw new SluiceError(
              'REGISTRY_UNAVAILABLE',
              `fetching writer schema ${id} from the registry at ${registryUrl} failed; processing waits until it answers`,
              { cause: error },
            );
          missing.add(id);
          continue;
        }
        // Avro schemas are rebuilt with exact longs; other kinds (JSON, Protobuf) stay as fetched
        const exportable = fetched.schema?.({ exportAttrs: true });
        types.set(
          id,
          exportable && fetched.fromBuffer
            ? exactAvroType(exportable as avro.Schema, { beyondSafe })
            : fetched,
        );
      }
    },
    decode(buffer) {
      if (buffer === null) throw new DecodeError('the record has no value');
      const id = idOf(buffer);
      if (id === undefined)
        throw new DecodeError('not in the Confluent wire format (magic byte 0 + schema id)');
      const type = types.get(id);
      if (!type?.fromBuffer) throw new DecodeError(`schema id ${id} is unknown to the registry`);
      try {
        return type.fromBuffer(buffer.subarray(5));
      } catch (error) {
        if (error instanceof UnsafeLongError) throw new DecodeError(`schema id ${id}: ${error.message}`);
        throw new DecodeError(`the Avro body does not match schema ${id}: ${(error as Error).message}`);
      }
    },
    encoderFor(id, type) {
      // one scratch buffer holds the framing and the body; each value costs one copy out of it
      let scratch = Buffer.alloc(64 * 1024);
      scratch.writeInt32BE(id, 1);
      return (value) => {
        let end = type.encode(value, scratch, 5);
        if (end < 0) {
          const grown = Buffer.alloc(Math.max(scratch.length * 2, scratch.length - end));
          scratch.copy(grown, 0, 0, 5);
          scratch = grown;
          end = type.encode(value, scratch, 5);
        }
        return Buffer.from(scratch.subarray(0, end));
      };
    },
  };
}
