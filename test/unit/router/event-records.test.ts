import { describe, expect, it } from 'vitest';
import { prepareEvents } from '../../../router/event-records.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { seedRequestStream } from '../../../schemas/streams.ts';

const stream = seedRequestStream();
const encoding = { stream, encode: (value: unknown) => stream.type.toBuffer(value), partitions: () => 3 };
const good = () =>
  takeRequests({ seed: 5, tenants: 2, apis: 2, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, 1)[0]!;

describe('preparing events', () => {
  it('refuses an eventId with a lone surrogate: it would become another id in the record header', () => {
    expect(() => prepareEvents(encoding, [{ ...good(), eventId: 'id-\ud800' }], {})).toThrow(
      expect.objectContaining({
        code: 'ROUTER_INVALID_EVENTS',
        errors: [
          { index: 0, field: 'eventId', reason: 'eventId must be a non-empty, well-formed Unicode string' },
        ],
      }),
    );
  });

  it('encodes a long beyond 2^53 exactly', () => {
    const prepared = prepareEvents(
      encoding,
      [{ ...good(), eventId: 'big', responseTime: 2n ** 62n + 1n }],
      {},
    );
    const stored = stream.type.fromBuffer(prepared.records[0]!.value as Buffer) as { responseTime: unknown };
    expect(stored.responseTime).toBe(2n ** 62n + 1n);
    expect(prepared.eventIds).toEqual(['big']);
  });
});
