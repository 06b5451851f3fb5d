/**
 * What a 202 stores is exactly what was sent: values read back from Kafka and decoded with exact
 * longs; text that is not exactly representable is refused and nothing of it is produced.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { stringify } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactAvroType } from '../../../schemas/exact-long.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const schema = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '..', '..', '..', 'schemas', 'Request.avsc'), 'utf8'),
) as { fields: { name: string; type: string }[] };
const reader = exactAvroType(schema as never, { beyondSafe: 'bigint' });
const good = () =>
  takeRequests({ seed: 4, tenants: 3, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, 1)[0]!;

/** What the router must store for a long: a number when safe, else the bigint. */
const exactLong = (value: bigint) =>
  value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;

describe('router: what a 202 stores is exactly what was sent', () => {
  let fixture: RouterFixture;
  let url: string;
  beforeAll(async () => {
    fixture = await createRouterFixture({ router: { maxBodyBytes: 256 * 1024 } });
    url = (await fixture.startRouter()).url;
  });
  afterAll(async () => fixture?.cleanup());

  /** The stored events by event id, decoded with exact longs. */
  const stored = async () =>
    new Map(
      (await fixture.records()).map((record) => [
        record.headers['event-id']!.toString(),
        reader.fromBuffer(record.value!.subarray(5)) as Record<string, unknown>,
      ]),
    );
  let producedSoFar = 0;
  const expectNothingNew = async () => expect((await fixture.records()).length).toBe(producedSoFar);

  it('stores longs exactly at the Avro and double boundaries, negative ones below −2^52 included', async () => {
    const values = [
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 53n + 1n,
      2n ** 53n,
      2n ** 53n - 1n,
      -(2n ** 53n) + 1n,
      -(2n ** 53n),
      -(2n ** 53n) - 1n,
      -6586618969457457n,
      -9007199254740990n,
      -(2n ** 52n) - 1n,
      2n ** 60n,
    ];
    const events = values.map((value, index) => ({
      ...good(),
      eventId: `long-${index}`,
      responseTime: value,
      backendTime: value < 0n ? -(value + 1n) : -value - 1n,
    }));
    const response = await postEvents(url, stringify(events)!);
    expect(response.status).toBe(202);
    producedSoFar += events.length;
    const byId = await stored();
    for (const { eventId, ...sent } of events) {
      expect(byId.get(eventId)).toEqual({
        ...sent,
        responseTime: exactLong(sent.responseTime),
        backendTime: exactLong(sent.backendTime),
      });
    }
  });

  const refused: [string, () => Promise<Awaited<ReturnType<typeof postEvents>>>, number, RegExp][] = [
    ['a lone surrogate in a string', () => postEvents(url, '[{"apiName":"\\ud800"}]'), 422, /lone surrogate/],
    [
      'a lone surrogate in the tenant',
      () => postEvents(url, JSON.stringify({ ...good(), userTenantDomain: 'a\udc00' })),
      422,
      /userTenantDomain.*|lone surrogate/,
    ],
    [
      'invalid UTF-8 bytes',
      () =>
        postEvents(url, Buffer.concat([Buffer.from('{"apiName":"'), Buffer.from([0xff]), Buffer.from('"}')])),
      400,
      /not valid UTF-8 \(first bad byte at offset 12\)/,
    ],
    [
      'latin-1 with its charset',
      () =>
        postEvents(
          url,
          Buffer.from(JSON.stringify({ ...good(), userTenantDomain: 'zürich.example' }), 'latin1'),
          {
            contentType: 'application/json; charset=iso-8859-1',
          },
        ),
      415,
      /charset iso-8859-1/,
    ],
    [
      'a non-integral long',
      () =>
        postEvents(
          url,
          `${JSON.stringify(good())
            .slice(0, -1)
            .replace(/"responseTime":\d+,?/, '')},"responseTime":12.0000000000000001}`,
        ),
      422,
      /not an integer/,
    ],
    [
      'a long beyond 2^63',
      () =>
        postEvents(
          url,
          `${JSON.stringify(good())
            .slice(0, -1)
            .replace(/"responseTime":\d+,?/, '')},"responseTime":9223372036854775808}`,
        ),
      422,
      /out of range for Avro long/,
    ],
    [
      'a brotli label',
      () => postEvents(url, JSON.stringify(good()), { headers: { 'content-encoding': 'br' } }),
      415,
      /br is not accepted/,
    ],
    [
      'a gzip bomb',
      () =>
        postEvents(url, gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), {
          headers: { 'content-encoding': 'gzip' },
        }),
      413,
      /inflates beyond/,
    ],
  ];
  for (const [name, send, status, detail] of refused) {
    it(`refuses ${name} (${status}) and produces nothing`, async () => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(JSON.stringify(response.body)).toMatch(detail);
      await expectNothingNew();
    });
  }

  it('stores a gzip body as if it had been sent plain', async () => {
    const event = { ...good(), eventId: 'gzipped', apiName: 'zürich 😀' };
    const response = await postEvents(url, gzipSync(JSON.stringify([event])), {
      headers: { 'content-encoding': 'gzip' },
    });
    expect(response.status).toBe(202);
    producedSoFar += 1;
    const { eventId: _id, ...sent } = event;
    expect((await stored()).get('gzipped')).toEqual(sent);
  });

  it('property: valid events generated from the schema come back exactly; invalid ones produce nothing', {
    timeout: 120_000,
  }, async () => {
    const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    const text = fc.string({ unit: 'binary', maxLength: 30 });
    const fieldValue = (type: string, name: string) =>
      name === 'userTenantDomain'
        ? fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((value) => value.trim() !== '')
        : type === 'long'
          ? long
          : type === 'boolean'
            ? fc.boolean()
            : text;
    const validEvent = fc.record(
      Object.fromEntries(schema.fields.map((field) => [field.name, fieldValue(field.type, field.name)])),
    ) as fc.Arbitrary<Record<string, unknown>>;
    // one field made invalid: a lone surrogate, a non-integral or out-of-range long, a wrong type
    const invalidEvent = fc
      .tuple(
        validEvent,
        fc.constantFrom(...schema.fields),
        fc.constantFrom('surrogate', 'fraction', 'beyond', 'wrong type'),
      )
      .map(([event, field, how]) => {
        const broken =
          field.type === 'string' && how === 'surrogate'
            ? `x\ud800${event[field.name]}`
            : field.type === 'long' && how === 'fraction'
              ? '1.5'
              : field.type === 'long' && how === 'beyond'
                ? (2n ** 63n).toString()
                : field.type === 'string'
                  ? 7
                  : '"nope"';
        return {
          event,
          field: field.name,
          raw: typeof broken === 'string' && field.type === 'long' ? broken : undefined,
          broken,
        };
      });

    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(validEvent, { minLength: 1, maxLength: 20 }),
        invalidEvent,
        async (events, invalid) => {
          run++;
          const ids = events.map((_, index) => `p${run}-${index}`);
          const sent = events.map((event, index) => ({ ...event, eventId: ids[index] }));
          expect((await postEvents(url, stringify(sent)!)).status).toBe(202);
          producedSoFar += events.length;

          const { event, field, raw, broken } = invalid;
          const body =
            raw !== undefined
              ? stringify({ ...event, [field]: 0 })!.replace(`"${field}":0`, `"${field}":${raw}`)
              : stringify({ ...event, [field]: broken })!;
          const refusal = await postEvents(url, body);
          expect(refusal.status).toBe(422);
          expect(refusal.body.errors).toContainEqual(expect.objectContaining({ index: 0, field }));

          const byId = await stored();
          expect(byId.size).toBe(producedSoFar);
          events.forEach((original, index) => {
            const expected = Object.fromEntries(
              Object.entries(original).map(([name, value]) => [
                name,
                typeof value === 'bigint' ? exactLong(value) : value,
              ]),
            );
            expect(byId.get(ids[index]!)).toEqual(expected);
          });
        },
      ),
      { numRuns: 15, seed: 12 },
    );
  });
});
