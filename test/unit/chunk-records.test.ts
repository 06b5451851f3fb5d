import { describe, expect, it } from 'vitest';
import { chunkRecords } from '../../common/kafka/producer.ts';

describe('chunking records below the broker message size', () => {
  it('keeps order, stays under ~900 KiB per chunk, and sends an oversized record alone', () => {
    const record = (i: number, size: number) => ({
      topic: 't',
      partition: 0,
      key: `k${i}`,
      value: Buffer.alloc(size),
    });
    const records = [
      ...Array.from({ length: 100 }, (_, i) => record(i, 20_000)),
      record(100, 2_000_000),
      record(101, 10),
    ];
    const chunks = chunkRecords(records);
    expect(chunks.flat().map((r) => r.key)).toEqual(records.map((r) => r.key));
    const sizes = chunks.map((chunk) => chunk.reduce((sum, r) => sum + (r.value?.length ?? 0), 0));
    expect(chunks.length).toBe(5);
    expect(sizes.slice(0, 3).every((size) => size <= 900 * 1024)).toBe(true);
    expect(chunks[3]!.map((r) => r.key)).toEqual(['k100']);
    expect(chunkRecords([])).toEqual([]);
  });
});
