import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import { createRouterFixture, postEvents, type RouterFixture } from './router-fixture.ts';

const event = (tenant: string) => ({
  ...takeRequests({ seed: 3, tenants: 1, apis: 1, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, 1)[0]!,
  userTenantDomain: tenant,
});

/** Sends raw bytes to the router and reads the answer until the connection closes. */
function rawRequest(
  url: string,
  request: string | Buffer,
): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), head: head.toLowerCase(), body });
    });
  });
}

describe('router HTTP contract: every answer a problem, auth first, bounded labels, OpenAPI', () => {
  let fixture: RouterFixture;
  let url: string;
  let router: Awaited<ReturnType<RouterFixture['startRouter']>>;
  const keys = new Map<string, string>();
  const tenants = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'plain.example'];
  beforeAll(async () => {
    fixture = await createRouterFixture({ router: { rateLimit: { eventsPerSecond: 1, burst: 3 } } });
    for (const tenant of tenants) keys.set(tenant, fixture.createKey(tenant));
    router = await fixture.startRouter({ env: { SLUICE_ROUTER_AUTH: 'true' } });
    url = router.url;
  });
  afterAll(async () => fixture?.cleanup());

  const withKey = (tenant: string) => ({ headers: { authorization: `Bearer ${keys.get(tenant)}` } });

  it('401 says how to authenticate (WWW-Authenticate) and reveals no stream names', async () => {
    for (const stream of ['Request', 'Nope']) {
      const response = await postEvents(url, event('plain.example'), { stream });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
      expect(response.body.detail).not.toMatch(/known streams|Request/);
    }
    const unknown = await postEvents(url, event('plain.example'), {
      stream: 'Nope',
      ...withKey('plain.example'),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/known streams: Request/);
  });

  it('limits prototype-named tenants like any other', async () => {
    for (const tenant of tenants) {
      const body = [event(tenant), event(tenant), event(tenant)];
      expect((await postEvents(url, body, withKey(tenant))).status).toBe(202);
      const over = await postEvents(url, body, withKey(tenant));
      expect(over.status).toBe(429);
      expect(over.body.detail).toContain(`tenant ${tenant} is over its limit`);
    }
    expect(await fixture.records()).toHaveLength(3 * tenants.length);
  });

  it('labels metrics only with configured stream names', async () => {
    for (let index = 0; index < 100; index++) {
      const stream = `unknown-${index}`;
      const response = await postEvents(url, event('plain.example'), { stream, ...withKey('plain.example') });
      expect(response.status).toBe(404);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const streams = new Set(
      [...metrics.matchAll(/^sluice_router_requests_total\{[^}]*stream="([^"]*)"/gm)].map(
        (match) => match[1],
      ),
    );
    expect([...streams].sort()).toEqual(['Request', 'unknown']);
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const get = await fetch(`${url}/v1/streams/Request/events`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(get.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const post = await fetch(`${url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toMatch(/GET/);
  });

  const events = '/v1/streams/Request/events';
  const malformed: [string, string | Buffer, number][] = [
    [
      'bad chunked framing',
      `POST ${events} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      400,
    ],
    [
      'Content-Length with Transfer-Encoding',
      `POST ${events} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      400,
    ],
    ['a negative Content-Length', `POST ${events} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`, 400],
    ['a bad request line', 'POST /v1 /x HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400],
    [
      'raw non-ASCII in the path',
      Buffer.from(`POST /v1/streams/zür/events HTTP/1.1\r\nHost: x\r\n\r\n`),
      400,
    ],
    [
      'a control character in Content-Type',
      `POST ${events} HTTP/1.1\r\nHost: x\r\nContent-Type: a\u0001b\r\n\r\n`,
      400,
    ],
    ['oversized headers', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431],
    [
      '%ff in the stream name',
      'POST /v1/streams/%ff/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      400,
    ],
    [
      'a stream name over 100 characters',
      `POST /v1/streams/${'s'.repeat(101)}/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      414,
    ],
  ];
  for (const [name, request, status] of malformed) {
    it(`answers ${status} problem details to ${name}`, async () => {
      const response = await rawRequest(url, request);
      expect(response.status).toBe(status);
      expect(response.head).toContain('content-type: application/problem+json');
      expect(JSON.parse(response.body)).toMatchObject({
        status,
        title: expect.any(String),
        detail: expect.any(String),
      });
    });
  }

  it('logs a client that leaves mid-body as info, without an error or a stack', async () => {
    const { hostname, port } = new URL(url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST ${events} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"a":`,
        );
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on('close', () => resolve());
    });
    await waitFor('the disconnect to be logged', async () => router.output().includes('client went away'), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const lines = router
      .output()
      .split('\n')
      .filter((line) => line.includes('client went away'));
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: 30 });
    expect(router.output()).not.toMatch(/"level":50/);
  });

  it('refuses an Event-Id header beyond printable ASCII and stores nothing of the request', async () => {
    const body = JSON.stringify(event('plain.example'));
    const request = Buffer.concat([
      Buffer.from(
        `POST ${events} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${keys.get('plain.example')}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nEvent-Id: `,
      ),
      Buffer.from('zürich-1', 'utf8'),
      Buffer.from(`\r\n\r\n${body}`),
    ]);
    const before = (await fixture.records()).length;
    const response = await rawRequest(url, request);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).detail).toMatch(/Event-Id header must be .*printable ASCII/);
    expect((await fixture.records()).length).toBe(before);
  });

  it('serves an OpenAPI 3.1 description generated from the route and stream schemas', async () => {
    const response = await fetch(`${url}/openapi.json`);
    expect(response.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the document is checked by the assertions
    const document: any = await response.json();
    expect(document.openapi).toBe('3.1.0');
    const operation = document.paths['/v1/streams/{stream}/events'].post;
    expect(Object.keys(operation.requestBody.content)).toContain('application/x-ndjson');
    const request = operation.requestBody.content['application/x-ndjson'].schema.anyOf[0];
    expect(request.title).toBe('Request');
    expect(request.properties.responseTime).toMatchObject({ type: 'integer', format: 'int64' });
    expect(request.required).toContain('userTenantDomain');
    expect(Object.keys(operation.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '404', '413', '415', '422', '429', '503']),
    );
    expect(document.paths['/healthz'].get).toBeDefined();
    expect(document.paths['/openapi.json']).toBeUndefined();
  });
});

describe('router: a client that stops sending', () => {
  let fixture: RouterFixture;
  let url: string;
  beforeAll(async () => {
    fixture = await createRouterFixture({ router: { requestTimeoutMs: 1000 } });
    url = (await fixture.startRouter()).url;
  });
  afterAll(async () => fixture?.cleanup());

  it('gets 408 problem details after router.requestTimeoutMs, and nothing is stored', async () => {
    const { hostname, port } = new URL(url);
    const sentAt = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(Number(port), hostname, () =>
        socket.write(
          `POST /v1/streams/Request/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"a":`,
        ),
      );
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head.toLowerCase()).toContain('content-type: application/problem+json');
    expect(JSON.parse(body)).toMatchObject({
      status: 408,
      detail: expect.stringMatching(/not received in time/),
    });
    // the timeout is the configured one, not Node's 300 s default or its 30 s checking interval
    expect(Date.now() - sentAt).toBeLessThan(20_000);
    expect(await fixture.records()).toEqual([]);
  });
});
