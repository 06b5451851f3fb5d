import fc from 'fast-check';
import { LosslessNumber, parse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { DuplicateKey, exactInteger, isJsonNumber, parseJson } from '../../../schemas/json-numbers.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { seedRequestStream } from '../../../schemas/streams.ts';
import { validateEvent } from '../../../schemas/validation.ts';

const stream = seedRequestStream();
const good = takeRequests(
  { seed: 1, tenants: 2, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
  1,
)[0]!;

/** Parses an event whose `responseTime` is written as the given JSON text, and validates it. */
function withResponseTime(text: string) {
  const event = parseJson(
    `${JSON.stringify({ ...good, responseTime: 0 }).replace('"responseTime":0', `"responseTime":${text}`)}`,
  ) as Record<string, unknown>;
  return { event, errors: validateEvent(stream, event) };
}

describe('exact integers from JSON text', () => {
  it.each([
    ['12', 12n],
    ['12.0', 12n],
    ['1.2e1', 12n],
    ['-0', 0n],
    ['9223372036854775807', 2n ** 63n - 1n],
    ['-9.223372036854775808e18', -(2n ** 63n)],
  ])('%s is the integer %s', (text, value) => {
    expect(exactInteger(text)).toEqual({ kind: 'integer', value });
  });
  it.each(['12.0000000000000001', '1e-400', '0.5', '-1.25'])('%s is not an integer', (text) => {
    expect(exactInteger(text)).toEqual({ kind: 'fraction' });
  });
  it('a huge exponent is beyond any Avro integer without building it', () => {
    expect(exactInteger('1e999999999')).toEqual({ kind: 'beyond', sign: 1 });
  });
});

describe('validating an event gives its exact values', () => {
  it.each([
    ['-6586618969457457', -6586618969457457],
    ['-9007199254740990', -9007199254740990],
    ['9007199254740993', 9007199254740993n],
    ['1152921504606846976', 2n ** 60n],
    ['9223372036854775807', 2n ** 63n - 1n],
    ['-9223372036854775808', -(2n ** 63n)],
  ])('a long written %s is %s', (text, value) => {
    const { event, errors } = withResponseTime(text);
    expect(errors).toEqual([]);
    expect(event.responseTime).toBe(value);
  });

  it.each([
    ['9223372036854775808', /out of range for Avro long/],
    ['-9223372036854775809', /out of range for Avro long/],
    ['1e300', /out of range for Avro long/],
    ['12.0000000000000001', /expected long, got the number 12.0000000000000001, which is not an integer/],
    ['1e-400', /not an integer/],
    ['12.5', /not an integer/],
  ])('a long written %s is refused naming the field', (text, reason) => {
    const { errors } = withResponseTime(text);
    expect(errors).toEqual([{ field: 'responseTime', reason: expect.stringMatching(reason) }]);
  });

  it('a string with a lone surrogate is refused naming the field, a paired one is fine', () => {
    expect(validateEvent(stream, { ...good, apiName: 'ok \ud83d\ude00' })).toEqual([]);
    expect(validateEvent(stream, { ...good, apiName: 'x\ud800', userTenantDomain: '\udc00t' })).toEqual([
      { field: 'apiName', reason: 'is not well-formed Unicode: a lone surrogate at UTF-16 index 1' },
      { field: 'userTenantDomain', reason: 'is not well-formed Unicode: a lone surrogate at UTF-16 index 0' },
    ]);
  });

  it('a key sent twice with different values is refused naming the field; an exact repeat is kept once', () => {
    const twice = parseJson(`${JSON.stringify(good).slice(0, -1)},"apiName":"other"}`);
    expect(validateEvent(stream, twice)).toEqual([
      { field: 'apiName', reason: 'appears 2 times with different values; send each field once' },
    ]);
    const repeated = parseJson(
      `${JSON.stringify(good).slice(0, -1)},"apiName":${JSON.stringify(good.apiName)}}`,
    );
    expect(validateEvent(stream, repeated)).toEqual([]);
  });

  it('`__proto__` is an unknown field, not a prototype', () => {
    const event = parseJson(`${JSON.stringify(good).slice(0, -1)},"__proto__":{"x":1}}`);
    expect(validateEvent(stream, event)).toEqual([
      { field: '__proto__', reason: 'unknown field: not in schema Request' },
    ]);
  });
});

describe('parsing takes the JSON.parse fast path only where it reads the text exactly', () => {
  it.each([
    [
      '{"a":1,"b":[1,2,{"a":3}],"c":"12345678901234567 1.5e3"}',
      { a: 1, b: [1, 2, { a: 3 }], c: '12345678901234567 1.5e3' },
    ],
    ['[{"a":1},{"a":2}]', [{ a: 1 }, { a: 2 }]],
    ['{"a":-123456789012345}', { a: -123456789012345 }],
    ['{"x":"a\\":b","y":1}', { x: 'a":b', y: 1 }],
    ['{"a":1234567890123456}', { a: new LosslessNumber('1234567890123456') }],
    ['[ 1.5, -2e3 ]', [new LosslessNumber('1.5'), new LosslessNumber('-2e3')]],
    ['{"a":{"b":1,"b":2}}', { a: { b: new DuplicateKey('b', [1, 2]) } }],
    ['{"a":1,"\\u0061":2}', { a: new DuplicateKey('a', [1, 2]) }],
    ['{"a":1,"a":1}', { a: 1 }],
  ])('%s', (text, value) => {
    expect(parseJson(text)).toEqual(value);
  });

  it('gives the same values as the lossless parser on generated JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const normalized = (value: unknown) =>
          JSON.stringify(value, (_key, inner) => (isJsonNumber(inner) ? Number(inner.value) : inner));
        expect(normalized(parseJson(text))).toBe(normalized(parse(text)));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
