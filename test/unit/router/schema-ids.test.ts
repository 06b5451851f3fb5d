import { describe, expect, it } from 'vitest';
import { jitteredBackoffMs } from '../../../common/backoff.ts';
import { SluiceError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/log.ts';
import { RequestProblem } from '../../../router/problems.ts';
import { resolveSchemaIds, schemaIdBackoff } from '../../../router/schema-ids.ts';
import { createFakeClock } from '../../env/fake-clock.ts';

const outage = () =>
  new SluiceError('REGISTRY_UNAVAILABLE', 'registering Request-value failed: ECONNREFUSED');
const incompatible = () => new SluiceError('SCHEMA_INCOMPATIBLE', 'not BACKWARD compatible: field removed');

/** A registry whose answer per stream the test sets; counts the lookups. */
function fakeRegistry(initial: Record<string, number | (() => Error)>) {
  const answers = { ...initial };
  const calls: string[] = [];
  return {
    answers,
    calls,
    async lookup(stream: string): Promise<number> {
      calls.push(stream);
      const answer = answers[stream]!;
      if (typeof answer === 'number') return answer;
      throw answer();
    },
  };
}

function refusal(fn: () => unknown): RequestProblem {
  try {
    fn();
  } catch (error) {
    if (error instanceof RequestProblem) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const setup = (registry: ReturnType<typeof fakeRegistry>, streams: string[]) => {
  const clock = createFakeClock();
  const fatal: unknown[] = [];
  const ids = resolveSchemaIds(streams, (stream) => registry.lookup(stream), {
    registryUrl: 'http://registry:8081',
    clock,
    logger: silentLogger(),
    onFatalError: (error) => fatal.push(error),
    random: () => 0.5, // no jitter: delays are exactly base × 2^attempt
  });
  return { clock, fatal, ids };
};

describe('stream schema ids while the registry is down', () => {
  it('refuses a stream without an id with 503 and a Retry-After, retries with backoff, then accepts', async () => {
    const registry = fakeRegistry({ Request: outage, Other: 7 });
    const { clock, ids: pending } = setup(registry, ['Request', 'Other']);
    const ids = await pending;

    expect(ids.idOf('Other')).toBe(7);
    const problem = refusal(() => ids.idOf('Request'));
    expect(problem.code).toBe('ROUTER_SCHEMA_UNAVAILABLE');
    expect(problem.retryAfterSeconds).toBe(1);
    expect(problem.message).toMatch(/registry at http:\/\/registry:8081 does not answer.*ECONNREFUSED/);
    expect(problem.message).toMatch(/nothing was published/);
    expect(ids.waitingReason()).toMatch(/no schema id yet for stream\(s\) Request/);

    // retries at 0.5 s, then 1 s, 2 s later: nothing asked in between
    await clock.advance(499);
    expect(registry.calls.filter((s) => s === 'Request')).toHaveLength(1);
    await clock.advance(1);
    expect(registry.calls.filter((s) => s === 'Request')).toHaveLength(2);
    await clock.advance(999);
    expect(registry.calls.filter((s) => s === 'Request')).toHaveLength(2);
    await clock.advance(1);
    expect(registry.calls.filter((s) => s === 'Request')).toHaveLength(3);
    expect(refusal(() => ids.idOf('Request')).retryAfterSeconds).toBe(2);

    registry.answers.Request = 42;
    await clock.advance(2000);
    expect(ids.idOf('Request')).toBe(42);
    expect(ids.waitingReason()).toBeUndefined();

    // a known id is never asked for again: a later outage changes nothing
    registry.answers.Request = outage;
    const asked = registry.calls.length;
    await clock.advance(600_000);
    expect(registry.calls).toHaveLength(asked);
    expect(ids.idOf('Request')).toBe(42);
  });

  it('caps the delay between retries', async () => {
    const registry = fakeRegistry({ Request: outage });
    const { clock, ids: pending } = setup(registry, ['Request']);
    await pending;
    await clock.advance(10 * 60_000);
    // 0.5 + 1 + 2 + 4 + 8 + 16 = 31.5 s, then every 30 s: 1 + 6 + ⌊(600 − 31.5) / 30⌋ = 25 lookups
    expect(registry.calls).toHaveLength(25);
  });

  it('stops the router at start on an incompatible schema, as before', async () => {
    const registry = fakeRegistry({ Request: outage, Other: incompatible });
    const { clock, ids } = setup(registry, ['Request', 'Other']);
    await expect(ids).rejects.toMatchObject({ code: 'SCHEMA_INCOMPATIBLE' });
    // the retry of the stream before it was cancelled
    await clock.advance(60_000);
    expect(registry.calls).toEqual(['Request', 'Other']);
  });

  it('hands a refusal that comes after the outage to onFatalError and stops retrying', async () => {
    const registry = fakeRegistry({ Request: outage });
    const { clock, fatal, ids: pending } = setup(registry, ['Request']);
    await pending;
    registry.answers.Request = () => new SluiceError('REGISTRY_UNAUTHORIZED', 'answered 401');
    await clock.advance(500);
    expect(fatal).toMatchObject([{ code: 'REGISTRY_UNAUTHORIZED' }]);
    await clock.advance(60_000);
    expect(registry.calls).toHaveLength(2);
  });

  it('stop() cancels pending retries', async () => {
    const registry = fakeRegistry({ Request: outage });
    const { clock, ids: pending } = setup(registry, ['Request']);
    (await pending).stop();
    await clock.advance(60_000);
    expect(registry.calls).toHaveLength(1);
  });
});

describe('jittered backoff', () => {
  it('doubles from the base up to the cap, jittered by ±25 %', () => {
    expect(jitteredBackoffMs(0, schemaIdBackoff, () => 0.5)).toBe(500);
    expect(jitteredBackoffMs(3, schemaIdBackoff, () => 0.5)).toBe(4000);
    expect(jitteredBackoffMs(20, schemaIdBackoff, () => 0.5)).toBe(30_000);
    expect(jitteredBackoffMs(20, schemaIdBackoff, () => 0)).toBe(22_500);
    expect(jitteredBackoffMs(20, schemaIdBackoff, () => 0.999_999)).toBeCloseTo(37_500, 0);
  });
});
