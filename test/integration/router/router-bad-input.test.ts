import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const good = () =>
  takeRequests({ seed: 2, tenants: 5, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, 1)[0]!;

describe('router bad input: a clear 4xx, nothing produced, still healthy', () => {
  let fixture: RouterFixture;
  let url: string;
  beforeAll(async () => {
    fixture = await createRouterFixture({ router: { maxBodyBytes: 64 * 1024, maxEventsPerRequest: 50 } });
    url = (await fixture.startRouter()).url;
  });
  afterAll(async () => fixture?.cleanup());

  const cases: {
    name: string;
    send: () => Promise<Awaited<ReturnType<typeof postEvents>>>;
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: problem bodies are checked by the assertions
    check?: (body: any) => void;
  }[] = [
    {
      name: 'malformed JSON',
      send: () => postEvents(url, '{"userTenantDomain": '),
      status: 400,
      check: (b) => expect(b.detail).toMatch(/not valid JSON/),
    },
    {
      name: 'a bad NDJSON line',
      send: () =>
        postEvents(url, `${JSON.stringify(good())}\n{oops\n`, { contentType: 'application/x-ndjson' }),
      status: 400,
      check: (b) => expect(b.detail).toMatch(/line 2 of the NDJSON body/),
    },
    {
      name: 'an empty body',
      send: () => postEvents(url, '   '),
      status: 400,
      check: (b) => expect(b.detail).toMatch(/no events/),
    },
    {
      name: 'a wrong content type',
      send: () => postEvents(url, 'x', { contentType: 'text/plain' }),
      status: 415,
    },
    {
      name: 'a body too large',
      send: () =>
        postEvents(
          url,
          Array.from({ length: 300 }, () => good()),
        ),
      status: 413,
    },
    {
      name: 'too many events',
      send: () =>
        postEvents(
          url,
          Array.from({ length: 51 }, () => ({ ...good(), apiVersion: 'v' })),
        ),
      status: 400,
      check: (b) => expect(b.detail).toMatch(/51 events; at most 50/),
    },
    {
      name: 'an unknown stream',
      send: () => postEvents(url, good(), { stream: 'Nope' }),
      status: 404,
      check: (b) => expect(b.detail).toMatch(/known streams: Request/),
    },
    {
      name: 'a missing partition key',
      send: () => {
        const { userTenantDomain: _missing, ...event } = good();
        return postEvents(url, [good(), event]);
      },
      status: 422,
      check: (b) =>
        expect(b.errors).toEqual([{ index: 1, field: 'userTenantDomain', reason: 'is required' }]),
    },
    {
      name: 'an empty partition key',
      send: () => postEvents(url, { ...good(), userTenantDomain: ' ' }),
      status: 422,
      check: (b) =>
        expect(b.errors).toEqual([
          { index: 0, field: 'userTenantDomain', reason: 'the partition key must not be empty' },
        ]),
    },
    {
      name: 'wrong field types',
      send: () => postEvents(url, { ...good(), responseTime: '12ms', throttledOut: 'no' }),
      status: 422,
      check: (b) =>
        expect(b.errors).toEqual([
          { index: 0, field: 'throttledOut', reason: 'expected boolean, got the string "no"' },
          { index: 0, field: 'responseTime', reason: 'expected long, got the string "12ms"' },
        ]),
    },
    {
      name: 'an unknown field',
      send: () => postEvents(url, { ...good(), colour: 'red' }),
      status: 422,
      check: (b) =>
        expect(b.errors).toEqual([
          { index: 0, field: 'colour', reason: 'unknown field: not in schema Request' },
        ]),
    },
    {
      name: 'a value out of range',
      send: () => postEvents(url, `${JSON.stringify(good()).slice(0, -1)},"backendTime":1e300}`),
      status: 422,
      check: (b) => expect(b.errors).toContainEqual(expect.objectContaining({ field: 'backendTime' })),
    },
  ];

  for (const testCase of cases) {
    it(`answers ${testCase.status} to ${testCase.name}`, async () => {
      const response = await testCase.send();
      expect(response.status).toBe(testCase.status);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(response.body).toMatchObject({
        status: testCase.status,
        title: expect.any(String),
        detail: expect.any(String),
      });
      testCase.check?.(response.body);
    });
  }

  it('produced nothing for any of them, and stays healthy and working', async () => {
    expect(await fixture.records()).toEqual([]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const accepted = await postEvents(url, good());
    expect(accepted.status).toBe(202);
    expect(await fixture.records()).toHaveLength(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/sluice_router_rejects_total\{reason="ROUTER_INVALID_EVENTS"[^}]*\} [1-9]/);
  });
});
