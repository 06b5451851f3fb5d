/**
 * One partition of a FETCH answer turned into a ConsumedBatch: read_committed visibility, and the
 * position moved past markers, aborted records and batches emptied by compaction.
 */
import { describe, expect, it } from 'vitest';
import {
  type FetchedRecord,
  type FetchedRecords,
  toConsumedBatch,
} from '../../../common/kafka/kafkajs-fetch.ts';

const record = (offset: number, producerId: string, options: { control?: boolean; key?: Buffer } = {}) =>
  ({
    offset: String(offset),
    key: options.key ?? Buffer.from('k'),
    value: Buffer.from(`v${offset}`),
    headers: {},
    timestamp: '1767225600000',
    isControlRecord: options.control ?? false,
    batchContext: { producerId, inTransaction: true },
  }) as FetchedRecord;

const records = (list: FetchedRecord[], batchesEnd?: string): FetchedRecords =>
  Object.assign(list, batchesEnd === undefined ? {} : { batchesEnd });

describe('toConsumedBatch', () => {
  it('drops aborted records and markers, and moves to the end of the last batch', () => {
    const abortMarker = Buffer.from([0, 0, 0, 0]);
    const batch = toConsumedBatch('t', '10', {
      partition: 3,
      errorCode: 0,
      highWatermark: '20',
      abortedTransactions: [{ producerId: '7', firstOffset: '11' }],
      messages: records(
        [
          record(10, '1'),
          record(11, '7'),
          record(12, '7', { control: true, key: abortMarker }),
          record(13, '1'),
        ],
        '15',
      ),
    });
    expect(batch?.records.map((r) => r.offset)).toEqual(['10', '13']);
    expect(batch?.nextOffset).toBe('15');
    expect(batch?.fetchedOffset).toBe('10');
    expect(batch?.partition).toBe(3);
    expect(batch?.highWatermark).toBe('20');
  });

  it('drops records before the fetched offset (a batch that began earlier)', () => {
    const batch = toConsumedBatch('t', '12', {
      partition: 0,
      errorCode: 0,
      highWatermark: '14',
      messages: records([record(10, '1'), record(11, '1'), record(12, '1'), record(13, '1')], '14'),
    });
    expect(batch?.records.map((r) => r.offset)).toEqual(['12', '13']);
  });

  it('delivers an empty batch when only emptied batches were fetched, and nothing when nothing moved', () => {
    const emptied = toConsumedBatch('t', '5', {
      partition: 0,
      errorCode: 0,
      highWatermark: '9',
      messages: records([], '8'),
    });
    expect(emptied?.records).toEqual([]);
    expect(emptied?.nextOffset).toBe('8');
    expect(
      toConsumedBatch('t', '9', { partition: 0, errorCode: 0, highWatermark: '9', messages: records([]) }),
    ).toBeUndefined();
  });
});
