/**
 * Every answer the HTTP layer makes on its own is a problem too: Fastify's errors (body limits,
 * bad URLs, over-long path parameters), Node's HTTP parser errors (bad framing, oversized
 * headers, timeouts: answered on the raw socket), 404 and 405 with `Allow`. A client that
 * disconnects mid-body is not our failure: it is logged quietly, without a stack.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { contentTypes } from './body.ts';
import { problemContentType, problemOf, RequestProblem, sendProblem } from './problems.ts';

const fastifyErrors: Record<string, (error: Error) => RequestProblem> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new RequestProblem('ROUTER_BODY_TOO_LARGE', 'the body is larger than the router accepts'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new RequestProblem(
      'ROUTER_UNSUPPORTED_MEDIA_TYPE',
      `send events as ${Object.keys(contentTypes).join(', ')}`,
    ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new RequestProblem('ROUTER_MALFORMED_BODY', 'the Content-Length does not match the body'),
  FST_ERR_BAD_URL: () =>
    new RequestProblem(
      'ROUTER_BAD_REQUEST',
      'the path is not valid percent-encoded UTF-8: encode stream names as UTF-8',
    ),
  FST_ERR_MAX_PARAM_LENGTH: () =>
    new RequestProblem('ROUTER_URI_TOO_LONG', 'a path segment is longer than 100 characters'),
};

const disconnectCodes = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'FST_ERR_CTP_EMPTY_JSON_BODY']);

const isClientDisconnect = (error: Error & { code?: string }) =>
  disconnectCodes.has(error.code ?? '') || error.message === 'aborted';

/** What a framework error means for the client, or undefined when it is ours (a 500). */
function problemForFrameworkError(error: Error & { code?: string; statusCode?: number }) {
  const known = fastifyErrors[error.code ?? ''];
  if (known) return known(error);
  if (isSluiceError(error)) return error;
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
    return new RequestProblem('ROUTER_BAD_REQUEST', error.message);
  return undefined;
}

/** Problem details for a socket the HTTP parser gave up on (no request object exists yet). */
function clientErrorProblem(error: Error & { code?: string }): RequestProblem {
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return new RequestProblem(
      'ROUTER_HEADERS_TOO_LARGE',
      'the request headers exceed the size the router reads',
    );
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new RequestProblem('ROUTER_REQUEST_TIMEOUT', 'the request was not received in time');
  return new RequestProblem(
    'ROUTER_BAD_REQUEST',
    `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'}): check its framing, request line and headers`,
  );
}

/** The routes' paths as patterns, with their methods: what makes a 404 a 405. */
function createMethodTable(app: FastifyInstance) {
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const source = `^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`;
    let entry = routes.find((candidate) => candidate.pattern.source === source);
    if (!entry) {
      entry = { pattern: new RegExp(source), methods: new Set() };
      routes.push(entry);
    }
    for (const method of [route.method].flat()) entry.methods.add(method);
  });
  return (path: string) => routes.find((route) => route.pattern.test(path))?.methods;
}

export function installProblemHandlers(app: FastifyInstance, logger: Logger): void {
  const methodsOf = createMethodTable(app);

  app.setErrorHandler((caught, request, reply) => {
    const error = caught as Error & { code?: string; statusCode?: number };
    if (isClientDisconnect(error)) {
      logger.info({ url: request.url, reason: error.message }, 'client went away before the body ended');
      return reply.code(400).send();
    }
    const problem = problemForFrameworkError(error);
    if (!problem) logger.error({ err: error, url: request.url }, 'request failed');
    return sendProblem(reply, problem ?? error, request.url);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const methods = methodsOf(path);
    if (methods) {
      return sendProblem(
        reply,
        new RequestProblem('ROUTER_METHOD_NOT_ALLOWED', `${path} answers ${[...methods].join(', ')}`, {
          allow: [...methods],
        }),
        request.url,
      );
    }
    return sendProblem(
      reply,
      new RequestProblem(
        'ROUTER_NOT_FOUND',
        `no route ${request.method} ${path}; events go to POST /v1/streams/{stream}/events`,
      ),
      request.url,
    );
  });
}

/** How long a socket the parser gave up on is drained after its answer, before it is closed. */
const lingerMs = 1000;

/** Fastify options that turn framework and HTTP-parser errors into problems. */
export function problemServerOptions(logger: Logger) {
  return {
    frameworkErrors: (error: Error, request: { url: string }, reply: Parameters<typeof sendProblem>[0]) =>
      sendProblem(reply, problemForFrameworkError(error) ?? error, request.url),
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      logger.debug({ code: error.code }, 'unparsable request');
      const { status, headers, body } = problemOf(clientErrorProblem(error), '');
      const text = JSON.stringify(body);
      if (socket.writable) {
        const lines = Object.entries({
          ...headers,
          'content-type': problemContentType,
          'content-length': String(Buffer.byteLength(text)),
          connection: 'close',
        }).map(([name, value]) => `${name}: ${value}`);
        // answer and half-close, then read and drop what the client is still sending for a moment:
        // closing with unread input makes the kernel reset the connection, and the client may
        // lose the answer (Node 24 shows it with oversized headers)
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\n\r\n${text}`);
        socket.resume();
        setTimeout(() => socket.destroy(), lingerMs).unref();
        return;
      }
      socket.destroy(error);
    },
  };
}
