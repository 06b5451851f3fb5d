/**
 * sluice/testing with a global table: apps/plan-usage.ts (a left join, a repartition by plan tier
 * and a window) run in-process, with rows set, changed and deleted between pipes.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import planUsage, { type PlanUsage } from '../../../apps/plan-usage.ts';
import { createTestDriver } from '../../../lib/testing.ts';
import { defineApp, stream, table } from '../../../processor/app/define.ts';
import type { Request } from '../../../schemas/event-types.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';

const config = resolve(import.meta.dirname, '..', '..', '..', 'sluice.yaml');
const base = takeRequests({ seed: 3, tenants: 1, apis: 1, startTime: 0, stepMs: 1 }, 1)[0]!;
const request = (userTenantDomain: string, requestTimestamp: number, throttledOut = false): Request => ({
  ...base,
  userTenantDomain,
  requestTimestamp,
  throttledOut,
});
const plan = (tier: string) => ({ plan: tier, requestQuota: 10, updatedAt: 0 });

describe('sluice/testing driver with a global table', () => {
  it('joins each request with the rows set before it, through the repartition and the window', async () => {
    const driver = await createTestDriver(planUsage, { config });
    driver.setTableRows('TenantPlan', { a: plan('premium'), b: plan('free'), ghost: plan('free') });
    await driver.pipe([
      request('a', 1_000),
      request('a', 2_000, true),
      request('b', 3_000),
      request('c', 4_000),
    ]);
    // b moves to premium, a loses its plan: later requests see that
    driver.setTableRows('TenantPlan', { b: plan('premium'), a: null });
    await driver.pipe([request('a', 5_000, true), request('b', 6_000)]);
    // one request per tier far later closes the first window of every tier (stream time per partition)
    driver.setTableRows('TenantPlan', { t: plan('free'), u: plan('premium') });
    await driver.pipe([request('t', 600_000), request('u', 600_000), request('c', 600_000)]);

    const usage = (tier: string, requests: number, throttledRequests: number): PlanUsage => ({
      plan: tier,
      windowStart: 0,
      windowEnd: 60_000,
      requests,
      throttledRequests,
      throttledShare: throttledRequests / requests,
    });
    const byPlan = (x: PlanUsage, y: PlanUsage) => x.plan.localeCompare(y.plan);
    expect(driver.output<PlanUsage>().sort(byPlan)).toEqual([
      usage('free', 1, 0),
      usage('none', 2, 1), // c, then a after its row was deleted
      usage('premium', 3, 1), // a twice, then b after its change
    ]);
    expect(driver.deadLetters()).toEqual([]);
    await driver.close();
  });

  it('says which tables an app joins, and refuses partitioned tables', async () => {
    const driver = await createTestDriver(planUsage, { config });
    expect(() => driver.setTableRows('Plans', {})).toThrow(
      'plan-usage joins no table Plans (its tables: TenantPlan)',
    );
    await driver.close();
    const partitioned = defineApp({
      id: 'partitioned-plans',
      source: stream<Request>('Request'),
      pipeline: (requests) =>
        requests
          .join(table<{ plan: string }>('TenantPlan', { kind: 'partitioned' }), {
            on: 'userTenantDomain',
            joiner: (r, p) => ({ ...r, apiTier: p.plan }),
          })
          .to(stream<Request>('Request')),
    });
    await expect(createTestDriver(partitioned, { config })).rejects.toThrow(
      'the test driver holds global tables only; partitioned-plans joins the partitioned table TenantPlan: test it against Kafka',
    );
  });
});
