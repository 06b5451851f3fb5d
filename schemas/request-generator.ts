/**
 * Seed `Request` events, deterministic from a seed: tenants of skewed sizes, APIs, event times
 * that advance with out-of-order jitter, and optionally a share of late events. Used by
 * `sluice produce`, the benchmarks and the tests.
 */

import type { Request } from './event-types.ts';

/** A seed event: the Request schema's type, generated from schemas/Request.avsc. */
export type RequestEvent = Request;

export interface GeneratorOptions {
  seed: number;
  tenants: number;
  apis: number;
  /** Event time of the first event (ms). */
  startTime: number;
  /** Average event-time step between consecutive events (ms). */
  stepMs: number;
  /** Events go back in time by up to this much (stays within a window's grace when smaller). */
  jitterMs?: number;
  /** Share (0..1) of events pushed back far beyond any grace. */
  lateShare?: number;
  /** 0 = uniform tenants; 1 = strongly skewed (Zipf-like). */
  skew?: number;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tenantName(index: number): string {
  return `tenant-${index}.example.com`;
}

export function* generateRequests(options: GeneratorOptions): Generator<RequestEvent> {
  const next = random(options.seed);
  const skew = options.skew ?? 0;
  let clock = options.startTime;
  for (;;) {
    clock += Math.round(options.stepMs * 2 * next());
    const tenant = Math.min(options.tenants - 1, Math.floor(options.tenants * next() ** (1 + skew * 3)));
    const api = Math.floor(options.apis * next());
    let time = clock - Math.round((options.jitterMs ?? 0) * next());
    if (options.lateShare && next() < options.lateShare) time = clock - 10 * 60_000;
    const throttledOut = next() < 0.1;
    const backendTime = 5 + Math.round(200 * next());
    yield {
      meta_clientType: 'generator',
      applicationConsumerKey: `key-${tenant}-${api % 3}`,
      applicationName: `app-${api % 3}`,
      applicationId: `app-${tenant}-${api % 3}`,
      applicationOwner: `owner-${tenant}`,
      apiContext: `/api-${api}/v1`,
      apiName: `api-${api}`,
      apiVersion: 'v1',
      apiCreator: 'admin',
      apiTier: 'Unlimited',
      apiHostname: 'gateway.example.com',
      username: `user-${Math.floor(next() * 50)}@${tenantName(tenant)}`,
      userTenantDomain: tenantName(tenant),
      requestTimestamp: Math.max(0, time),
      throttledOut,
      responseTime: throttledOut ? 1 : backendTime + Math.round(20 * next()),
      backendTime: throttledOut ? 0 : backendTime,
    };
  }
}

/** The first `count` events of a generator. */
export function takeRequests(options: GeneratorOptions, count: number): RequestEvent[] {
  const events: RequestEvent[] = [];
  for (const event of generateRequests(options)) {
    if (events.length >= count) break;
    events.push(event);
  }
  return events;
}
