import { describe, expect, it } from 'vitest';
import type { PrimaryLink } from '../../../router/cluster/ipc.ts';
import { createSharedRateLimiter, takeForWorker } from '../../../router/cluster/shared-rate-limit.ts';
import { RequestProblem } from '../../../router/problems.ts';
import { createRateLimiter } from '../../../router/rate-limit.ts';

describe('rate limits shared by workers through the primary', () => {
  it("answers two workers' requests from one set of buckets, with the 429's reason and Retry-After", async () => {
    let now = 0;
    const primaryLimiter = createRateLimiter({ eventsPerSecond: 10, burst: 30, tenants: {} }, () => now);
    // the IPC round trip, as the primary answers it (supervisor.ts)
    const link = {
      ask: async (question: { perTenant: [string, number][] }) => ({
        sluice: 'answer' as const,
        id: 0,
        refused: takeForWorker(primaryLimiter, question.perTenant),
      }),
    } as unknown as PrimaryLink;
    const workers = [createSharedRateLimiter(link), createSharedRateLimiter(link)];
    await workers[0]!.take(new Map([['a.com', 20]]));
    // 10 left for a.com: a second worker cannot take 20 more
    const refusal = await workers[1]!
      .take(
        new Map([
          ['a.com', 20],
          ['b.com', 5],
        ]),
      )
      .catch((error: RequestProblem) => error);
    expect(refusal).toBeInstanceOf(RequestProblem);
    expect(refusal).toMatchObject({ code: 'ROUTER_RATE_LIMITED', retryAfterSeconds: 1 });
    expect((refusal as RequestProblem).message).toContain('a.com');
    // a refusal takes nothing: b.com still has its whole burst, a.com its 10
    await workers[1]!.take(
      new Map([
        ['a.com', 10],
        ['b.com', 30],
      ]),
    );
    await expect(workers[0]!.take(new Map([['a.com', 1]]))).rejects.toThrow(/over its limit/);
    now += 1000; // 10 tokens back
    await workers[0]!.take(new Map([['a.com', 10]]));
  });

  it('passes any other error of the limiter through to the primary', () => {
    const broken = {
      take() {
        throw new Error('bug');
      },
    };
    expect(() => takeForWorker(broken, [['a.com', 1]])).toThrow('bug');
  });
});
