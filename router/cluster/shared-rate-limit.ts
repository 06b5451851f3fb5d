/**
 * Rate limits exact across a router's workers: the buckets live in the primary process only
 * (one `createRateLimiter`), each worker asks it over IPC per request, and the primary answers
 * in arrival order. Dividing the budget by the worker count instead would refuse a tenant whose
 * requests happen to land on one worker while the others have tokens left.
 */
import { isSluiceError } from '../../common/errors.ts';
import { RequestProblem } from '../problems.ts';
import type { LocalRateLimiter, RateLimiter } from '../rate-limit.ts';
import type { PrimaryLink, PrimaryMessage } from './ipc.ts';

type Refusal = Extract<PrimaryMessage, { sluice: 'answer' }>['refused'];

/** The worker's limiter: the primary decides. */
export interface SharedRateLimiter extends RateLimiter {
  take(perTenant: ReadonlyMap<string, number>): Promise<void>;
}

export function createSharedRateLimiter(primary: PrimaryLink): SharedRateLimiter {
  return {
    async take(perTenant) {
      const { refused } = await primary.ask({ sluice: 'rate-limit', perTenant: [...perTenant] });
      if (refused)
        throw new RequestProblem('ROUTER_RATE_LIMITED', refused.message, {
          retryAfterSeconds: refused.retryAfterSeconds,
        });
    },
  };
}

/** The primary's side: takes from its one limiter, and says why not if it refused. */
export function takeForWorker(limiter: LocalRateLimiter, perTenant: [string, number][]): Refusal {
  try {
    limiter.take(new Map(perTenant));
    return undefined;
  } catch (error) {
    if (!isSluiceError(error, 'ROUTER_RATE_LIMITED')) throw error;
    return { message: error.message, retryAfterSeconds: (error as RequestProblem).retryAfterSeconds };
  }
}
