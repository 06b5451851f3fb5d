import { describe, expect, it } from 'vitest';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';

const schema = {
  type: 'record',
  name: 'Smoke',
  namespace: 'sluice.test',
  fields: [
    { name: 'tenant', type: 'string' },
    { name: 'count', type: 'long' },
  ],
};

describe('schema registry (Confluent-compatible API)', () => {
  const registry = createSchemaRegistryClient(testServices().schemaRegistryUrl);

  it('registers an Avro schema and round-trips a record in the Confluent wire format', async () => {
    const subject = uniqueName('smoke-value');
    const id = await registry.register(subject, schema);
    expect(await registry.register(subject, schema)).toBe(id);

    const encoded = await registry.encode(id, { tenant: 'foo.com', count: 7 });
    expect(encoded[0]).toBe(0); // magic byte
    expect(encoded.readInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual({ tenant: 'foo.com', count: 7 });
  });

  it('gives every instance the same id when several register a new subject at once', async () => {
    const subject = uniqueName('smoke-race-value');
    const ids = await Promise.all(Array.from({ length: 6 }, () => registry.register(subject, schema)));
    expect(new Set(ids).size).toBe(1);
    const incompatible = { ...schema, fields: [...schema.fields, { name: 'required', type: 'string' }] };
    await expect(registry.register(subject, incompatible)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
    });
  });

  it('refuses an incompatible change with the registry reason', async () => {
    const subject = uniqueName('smoke-value');
    await registry.register(subject, schema);
    const incompatible = { ...schema, fields: [...schema.fields, { name: 'required', type: 'string' }] };
    await expect(registry.register(subject, incompatible)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      message: expect.stringMatching(/not BACKWARD compatible.*required/i),
    });
    const compatible = {
      ...schema,
      fields: [...schema.fields, { name: 'optional', type: 'string', default: '' }],
    };
    expect(await registry.register(subject, compatible)).toBeGreaterThan(0);
  });
});
