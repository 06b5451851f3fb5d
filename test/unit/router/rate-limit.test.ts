import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../../router/rate-limit.ts';

describe('per-tenant rate limits', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'limit a tenant named %s like any other',
    (tenant) => {
      let now = 0;
      const limiter = createRateLimiter(
        {
          eventsPerSecond: 10,
          burst: 10,
          tenants: { 'big.example': { eventsPerSecond: 1000, burst: 1000 } },
        },
        () => now,
      );
      limiter.take(new Map([[tenant, 10]]));
      expect(() => limiter.take(new Map([[tenant, 1]]))).toThrow(/over its limit of 10 events\/s/);
      now += 1000;
      limiter.take(new Map([[tenant, 10]]));
      expect(() => limiter.take(new Map([[tenant, 11]]))).toThrow(/burst limit is 10/);
    },
  );

  it('still applies a tenant’s own override', () => {
    const limiter = createRateLimiter(
      { eventsPerSecond: 10, burst: 10, tenants: { 'big.example': { eventsPerSecond: 1000, burst: 1000 } } },
      () => 0,
    );
    limiter.take(new Map([['big.example', 500]]));
    expect(() => limiter.take(new Map([['small.example', 11]]))).toThrow(/burst limit is 10/);
  });
});
