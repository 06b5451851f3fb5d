import { describe, expect, it } from 'vitest';
import { deadLetter, deadLetterHeaders } from '../../../processor/task/dead-letters.ts';

const record = {
  topic: 'app-by-plan-repartition',
  partition: 2,
  offset: '41',
  key: Buffer.from('premium'),
  value: Buffer.from('{"plan":"premium","throttledOut":true}'),
  headers: { trace: Buffer.from('abc') },
};

describe('deadLetter', () => {
  it('keeps key, value, partition and headers, and says where the record came from and why', () => {
    const letter = deadLetter('app-dlq', { ...record, timestamp: 1_767_225_600_123 }, 'late', {
      name: 'LateRecord',
      message: 'window closed',
    });
    expect(letter).toMatchObject({ topic: 'app-dlq', partition: 2, key: record.key, value: record.value });
    expect(letter.headers).toEqual({
      trace: Buffer.from('abc'),
      [deadLetterHeaders.topic]: 'app-by-plan-repartition',
      [deadLetterHeaders.partition]: '2',
      [deadLetterHeaders.offset]: '41',
      [deadLetterHeaders.stage]: 'late',
      [deadLetterHeaders.errorClass]: 'LateRecord',
      [deadLetterHeaders.errorMessage]: 'window closed',
      // the event time a join's output no longer carries
      [deadLetterHeaders.timestamp]: '1767225600123',
    });
    // the dead letter's own timestamp stays the write time (old event times would meet retention early)
    expect(letter.timestamp).toBeUndefined();
  });

  it('has no timestamp header for an emission, which has no record timestamp', () => {
    const letter = deadLetter('app-dlq', record, 'emit', { name: 'Error', message: 'x' });
    expect(letter.headers?.[deadLetterHeaders.timestamp]).toBeUndefined();
  });
});
