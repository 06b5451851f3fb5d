/**
 * The events of a request body: one JSON object, a JSON array of them, or NDJSON (one per line).
 * What is stored must be exactly what was sent, so the body is read strictly: UTF-8 only (a
 * charset parameter naming anything else is refused, invalid bytes are refused with their
 * offset, never replaced), `gzip` or no Content-Encoding (decompressed size bounded like a plain
 * body), one leading byte-order mark ignored in both formats (RFC 8259 §8.1 allows it), and
 * numbers kept as written until the schema says what they mean (schemas/json-numbers.ts).
 */
import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { parseJson } from '../schemas/json-numbers.ts';
import { RequestProblem } from './problems.ts';

export type BodyFormat = 'json' | 'ndjson';

export const contentTypes: Record<string, BodyFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
};

export const contentEncodings = ['gzip', 'identity'] as const;

const gunzipAsync = promisify(gunzip);
const byteOrderMark = '\ufeff';

export interface BodyHeaders {
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

/** The body's format from its Content-Type, or 415 naming what is accepted. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const [essence = '', ...parameters] = (contentType ?? '').split(';');
  const format = contentTypes[essence.trim().toLowerCase()];
  if (!format) {
    throw new RequestProblem(
      'ROUTER_UNSUPPORTED_MEDIA_TYPE',
      `send events as ${Object.keys(contentTypes).join(', ')}`,
    );
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=').map((part) => part.trim().toLowerCase());
    const charset = value.replace(/^"(.*)"$/, '$1');
    if (name === 'charset' && charset !== 'utf-8' && charset !== 'utf8') {
      throw new RequestProblem(
        'ROUTER_UNSUPPORTED_MEDIA_TYPE',
        `charset ${charset} is not accepted: send the body as UTF-8 (charset=utf-8 or no charset)`,
      );
    }
  }
  return format;
}

/** The body without its Content-Encoding: gzip is inflated up to `maxBytes` (a bomb is a 413). */
export async function decodedBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new RequestProblem(
      'ROUTER_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${encoding} is not accepted: send the body as gzip or uncompressed`,
    );
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RequestProblem(
        'ROUTER_BODY_TOO_LARGE',
        `the gzip body inflates beyond ${maxBytes} bytes, the most the router accepts`,
      );
    }
    throw new RequestProblem(
      'ROUTER_MALFORMED_BODY',
      `the body is not valid gzip: ${(error as Error).message}`,
    );
  }
}

/** Offset of the first byte that is not part of well-formed UTF-8 (the body is known to have one). */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let offset = 0;
  while (offset < bytes.length) {
    const lead = bytes[offset]!;
    const length =
      lead < 0x80
        ? 1
        : lead >= 0xc2 && lead <= 0xdf
          ? 2
          : lead >= 0xe0 && lead <= 0xef
            ? 3
            : lead >= 0xf0 && lead <= 0xf4
              ? 4
              : 0;
    if (length === 0 || offset + length > bytes.length) return offset;
    // the second byte's range excludes overlong forms, surrogates (ED A0..BF) and > U+10FFFF
    const second = bytes[offset + 1]!;
    const [low, high] =
      lead === 0xe0
        ? [0xa0, 0xbf]
        : lead === 0xed
          ? [0x80, 0x9f]
          : lead === 0xf0
            ? [0x90, 0xbf]
            : lead === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf];
    if (length > 1 && (second < low || second > high)) return offset;
    for (let index = 2; index < length; index++) {
      const continuation = bytes[offset + index]!;
      if (continuation < 0x80 || continuation > 0xbf) return offset;
    }
    offset += length;
  }
  return bytes.length;
}

/** The body as text, or 400 naming the offset of the first byte that is not UTF-8. */
export function utf8Text(body: Buffer): string {
  if (!isUtf8(body)) {
    throw new RequestProblem(
      'ROUTER_MALFORMED_BODY',
      `the body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(body)}); send UTF-8 text`,
    );
  }
  const text = body.toString('utf8');
  return text.startsWith(byteOrderMark) ? text.slice(1) : text;
}

export function parseEvents(text: string, format: BodyFormat, maxEvents: number): unknown[] {
  if (text.trim() === '') throw new RequestProblem('ROUTER_MALFORMED_BODY', 'the body holds no events');
  let events: unknown[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch (error) {
      throw new RequestProblem(
        'ROUTER_MALFORMED_BODY',
        `the body is not valid JSON: ${(error as Error).message}`,
      );
    }
    events = Array.isArray(parsed) ? parsed : [parsed];
  } else {
    events = [];
    const lines = text.split('\n');
    for (let line = 0; line < lines.length; line++) {
      const content = lines[line]!.trim();
      if (content === '') continue;
      try {
        events.push(parseJson(content));
      } catch (error) {
        throw new RequestProblem(
          'ROUTER_MALFORMED_BODY',
          `line ${line + 1} of the NDJSON body is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
  }
  if (events.length === 0) throw new RequestProblem('ROUTER_MALFORMED_BODY', 'the body holds no events');
  if (events.length > maxEvents) {
    throw new RequestProblem(
      'ROUTER_TOO_MANY_EVENTS',
      `the request holds ${events.length} events; at most ${maxEvents} are accepted per request`,
    );
  }
  return events;
}

/** Reads a request's events: Content-Type and Content-Encoding checked, body decoded and parsed. */
export async function readEvents(
  body: Buffer,
  headers: BodyHeaders,
  limits: { maxBodyBytes: number; maxEvents: number },
): Promise<unknown[]> {
  const format = bodyFormat(headers.contentType);
  const decoded = await decodedBody(body, headers.contentEncoding, limits.maxBodyBytes);
  return parseEvents(utf8Text(decoded), format, limits.maxEvents);
}
