import { describe, expect, it } from 'vitest';
import { decodeRepartitionValue, encodeRepartitionValue } from '../../../processor/app/repartition-codec.ts';

const roundTrip = (event: unknown) => decodeRepartitionValue(encodeRepartitionValue(event));

describe('repartition codec', () => {
  it('round-trips plain events as JSON', () => {
    const event = { tenant: 't', n: 3, ok: true, nested: { list: [1, 'a', null] }, none: null };
    expect(encodeRepartitionValue(event).toString()).toBe(JSON.stringify(event));
    expect(roundTrip(event)).toEqual(event);
  });

  it('keeps longs beyond 2^53 exact, at any depth', () => {
    const event = { id: 2n ** 63n - 1n, nested: { list: [1n, -(2n ** 60n)] }, n: 1 };
    expect(roundTrip(event)).toEqual(event);
  });

  it('leaves user text that merely contains the tag alone', () => {
    const event = { note: '$sluice.bigint', other: { '$sluice.bigint': '5', extra: 1 } };
    expect(roundTrip(event)).toEqual(event);
  });

  it('refuses a record without a value', () => {
    expect(() => decodeRepartitionValue(null)).toThrow(/without a value/);
  });
});
