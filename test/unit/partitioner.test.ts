import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../common/kafka/index.ts';

describe('partition for a key (the Java client default partitioner)', () => {
  it("matches murmur2 vectors from Kafka's own UtilsTest, mapped as toPositive(hash) % partitions", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const partitions of [1, 6, 1000]) {
      for (const [key, hash] of vectors) {
        expect(partitionForKey(key, partitions)).toBe((hash & 0x7fffffff) % partitions);
      }
    }
  });
});
