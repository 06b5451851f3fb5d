import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8Offset, readEvents } from '../../../router/body.ts';

const limits = { maxBodyBytes: 64 * 1024, maxEvents: 100 };
const json = (contentType = 'application/json', contentEncoding?: string) => ({
  contentType,
  contentEncoding,
});

/** The code and message of the RequestProblem a body is refused with. */
async function refusal(body: Buffer, headers = json()) {
  try {
    await readEvents(body, headers, limits);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('the body was accepted');
}

describe('request bodies are read strictly', () => {
  it('refuses invalid UTF-8 naming the offset of the first bad byte', async () => {
    const body = Buffer.concat([Buffer.from('{"a":"z'), Buffer.from([0xfc]), Buffer.from('rich"}')]);
    expect(await refusal(body)).toEqual({
      code: 'ROUTER_MALFORMED_BODY',
      message: expect.stringContaining('first bad byte at offset 7'),
    });
    // a UTF-8-encoded surrogate (ED A0 80) is not UTF-8 either
    expect((await refusal(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).message).toMatch(/offset 1/);
  });

  it('finds the first bad byte for each kind of malformation', () => {
    expect(firstInvalidUtf8Offset(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong
    expect(firstInvalidUtf8Offset(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).toBe(2); // truncated
    expect(firstInvalidUtf8Offset(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // > U+10FFFF
    expect(firstInvalidUtf8Offset(Buffer.from([0x80]))).toBe(0); // lone continuation
    expect(firstInvalidUtf8Offset(Buffer.from('zürich 😀'))).toBe(Buffer.byteLength('zürich 😀'));
  });

  it('refuses a charset other than UTF-8 with 415, and accepts utf-8 in any spelling', async () => {
    const latin1 = Buffer.from('{"t":"zürich.example"}', 'latin1');
    expect(await refusal(latin1, json('application/json; charset=iso-8859-1'))).toEqual({
      code: 'ROUTER_UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringContaining('charset iso-8859-1 is not accepted'),
    });
    const body = Buffer.from('{"t":"zürich.example"}');
    for (const type of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"'])
      expect(await readEvents(body, json(type), limits)).toEqual([{ t: 'zürich.example' }]);
  });

  it('ignores one leading byte-order mark in JSON and NDJSON alike', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(await readEvents(Buffer.concat([bom, Buffer.from('{"a":1}')]), json(), limits)).toEqual([
      { a: 1 },
    ]);
    expect(
      await readEvents(
        Buffer.concat([bom, Buffer.from('{"a":1}\n{"a":2}\n')]),
        json('application/x-ndjson'),
        limits,
      ),
    ).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('reads gzip bodies and refuses other encodings with 415', async () => {
    const body = Buffer.from('[{"a":1},{"a":2}]');
    expect(await readEvents(gzipSync(body), json('application/json', 'gzip'), limits)).toEqual([
      { a: 1 },
      { a: 2 },
    ]);
    for (const encoding of ['br', 'deflate', 'gzip, gzip', 'compress']) {
      expect(await refusal(body, json('application/json', encoding))).toEqual({
        code: 'ROUTER_UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringContaining('is not accepted'),
      });
    }
    expect((await refusal(body, json('application/json', 'gzip'))).code).toBe('ROUTER_MALFORMED_BODY');
  });

  it('refuses a gzip bomb with 413 without inflating it whole', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(limits.maxBodyBytes);
    expect(await refusal(bomb, json('application/json', 'gzip'))).toEqual({
      code: 'ROUTER_BODY_TOO_LARGE',
      message: expect.stringContaining(`beyond ${limits.maxBodyBytes} bytes`),
    });
  });
});
