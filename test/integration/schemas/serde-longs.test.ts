import { describe, expect, it } from 'vitest';
import { exactAvroType } from '../../../schemas/exact-long.ts';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { createSerde, DecodeError } from '../../../schemas/serde.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';

const schema = {
  type: 'record',
  name: 'Longs',
  namespace: 'sluice.test',
  fields: [
    { name: 'tenant', type: 'string' },
    { name: 'value', type: 'long' },
  ],
};

describe('serde: longs decoded exactly, with a clear choice beyond 2^53', () => {
  const url = testServices().schemaRegistryUrl;

  it('gives apps numbers when safe, refuses beyond (a dead letter), and gives tools bigints on request', async () => {
    const id = await createSchemaRegistryClient(url).register(uniqueName('longs-value'), schema);
    const encode = createSerde(url).encoderFor(id, exactAvroType(schema as never, { beyondSafe: 'bigint' }));
    const safe = encode({ tenant: 'a', value: -(2 ** 53) + 1 });
    const negative = encode({ tenant: 'a', value: -6586618969457457 });
    const beyond = encode({ tenant: 'a', value: -(2n ** 63n) });

    const processorSerde = createSerde(url);
    await processorSerde.prepare([safe, negative, beyond]);
    expect(processorSerde.decode(safe)).toEqual({ tenant: 'a', value: Number.MIN_SAFE_INTEGER });
    expect(processorSerde.decode(negative)).toEqual({ tenant: 'a', value: -6586618969457457 });
    expect(() => processorSerde.decode(beyond)).toThrow(DecodeError);
    expect(() => processorSerde.decode(beyond)).toThrow(/-9223372036854775808 is beyond ±\(2\^53−1\)/);

    const toolSerde = createSerde(url, { longs: 'bigint' });
    await toolSerde.prepare([beyond]);
    expect(toolSerde.decode(beyond)).toEqual({ tenant: 'a', value: -(2n ** 63n) });
  });
});
