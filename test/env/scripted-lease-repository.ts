/** A lease repository for unit tests whose renewals answer as the test says, counting them. */
import type { LeaseRepository } from '../../processor/coordination/lease-repository.ts';

export type Answer = 'renewed' | 'taken' | 'unreachable';

/** A repository whose renewals answer as the test says, recording how many were made. */
export function scriptedRepository(initial: Answer = 'renewed') {
  const state = { answer: initial, renewals: 0, releases: 0 };
  const repository = {
    async renew(_app: string, _slot: number, _holder: string, epoch: number) {
      state.renewals++;
      if (state.answer === 'unreachable')
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return state.answer === 'renewed' ? epoch : undefined;
    },
    async release() {
      state.releases++;
      return true;
    },
  } as unknown as LeaseRepository;
  return { state, repository };
}
