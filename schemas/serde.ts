/**
 * Avro in the Confluent wire format for the processor's hot path: decoding and encoding are
 * synchronous once a schema is known. Writer schemas are fetched (and cached) through the
 * registry library by `prepare`; only the 5-byte framing (magic 0, big-endian schema id) is
 * read and written here, because the library's per-record async encode/decode dominated a
 * batch's cost.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { SluiceError } from '../common/errors.ts';

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
}

export function createSerde(registryUrl: string): Serde {
  const registry = new SchemaRegistry({
    host: registryUrl,
    retry: { retries: 2, initialRetryTimeInSecs: 0.1 },
  });
  const types = new Map<number, SchemaLike>();
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
        try {
          types.set(id, (await registry.getSchema(id)) as SchemaLike);
        } catch (error) {
          // a 404 is a record written with a schema this registry does not know: a dead letter;
          // anything else (refused, timed out, 5xx) says nothing about the record: wait for the registry
          if ((error as { status?: number }).status === 404) missing.add(id);
          else
            throw new SluiceError(
              'REGISTRY_UNAVAILABLE',
              `fetching writer schema ${id} from the registry at ${registryUrl} failed; processing waits until it answers`,
              { cause: error },
            );
        }
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
