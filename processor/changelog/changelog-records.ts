/**
 * Changelog records: one per changed store key, to the changelog partition of the task's input
 * partition (never by key hash), with the input offset and lease epoch that produced them.
 */
import type { OutgoingRecord } from '../../common/kafka/index.ts';
import type { Change } from '../state/write-cache.ts';

export const changelogHeaders = { sourceOffset: 'sluice.source-offset', epoch: 'sluice.epoch' } as const;

export function changelogRecords(
  changes: readonly Change[],
  context: { topic: string; partition: number; sourceOffset: string; epoch: number },
): OutgoingRecord[] {
  const headers = {
    [changelogHeaders.sourceOffset]: context.sourceOffset,
    [changelogHeaders.epoch]: String(context.epoch),
  };
  return changes.map((change) => ({
    topic: context.topic,
    partition: context.partition,
    key: change.key,
    value: change.value,
    headers,
  }));
}
