/**
 * The commit protocol of one task, as one function. Under exactly-once everything of a commit
 * is one Kafka transaction; the local store is written only after Kafka has it (invariant 5).
 *
 *   1. produce outputs, dead letters and changelog records
 *   2. add the input position (next offset) for the consumer group
 *   3. commit the transaction
 *   4. flush each write cache to RocksDB together with the position its changelog reached
 *
 * A failure before 3 leaves nothing visible (the transaction is aborted, or aborted by the next
 * owner's fencing); a failure after 3 leaves RocksDB behind the changelog, which the restore
 * replays. Under at-least-once there is no transaction: 1 sends outputs and dead letters first
 * and the changelog only once they are acknowledged (a restored store then never reflects an
 * emission missing from the output), 2 commits offsets after that, and a crash in between
 * processes those records again: duplicates and double counts, never a loss.
 */
import { SluiceError } from '../../common/errors.ts';
import type {
  KafkaProducer,
  OutgoingRecord,
  PartitionWrite,
  TransactionalProducer,
} from '../../common/kafka/index.ts';
import { changelogRecords } from '../changelog/changelog-records.ts';
import type { Change } from '../state/write-cache.ts';

/** Commits input offsets outside a transaction (at-least-once): the group member, or the admin client. */
export type OffsetCommitter = (
  offsets: readonly { topic: string; partition: number; offset: string }[],
) => Promise<void>;

/** The changelog header naming the input position: the offset, or `topic@offset` per input when several. */
function sourceOffsetOf(inputs: CommitWork['inputs']): string {
  if (inputs.length === 1) return inputs[0]!.offset;
  return inputs.map(({ topic, offset }) => `${topic}@${offset}`).join(',');
}

export type CommitChannel =
  | { guarantee: 'exactly_once'; producer: TransactionalProducer; groupId: string }
  | { guarantee: 'at_least_once'; producer: KafkaProducer; commitOffsets: OffsetCommitter };

export interface CommitWork {
  partition: number;
  /**
   * The next offset of each input topic's partition: what the group resumes from after this
   * commit (all of them in the same transaction, so a task's inputs never drift apart).
   */
  inputs: readonly { topic: string; offset: string }[];
  /** Sink records and dead letters. */
  outputs: readonly OutgoingRecord[];
  /** Each store's changes since the last commit, with its changelog topic (one per store of the task). */
  changelogs: readonly { topic: string; changes: readonly Change[] }[];
  epoch: number;
  /** Asked again before the transaction commits: false when the lease stopped allowing commits meanwhile. */
  mayCommit(): boolean;
  /** Step 4: writes each store's changes with the position its changelog reached (by changelog topic). */
  flushStores(changelogPositions: ReadonlyMap<string, string>): Promise<void>;
}

/** Where each changelog partition ends after the commit: past the last run written to it. */
function changelogPositionsAfter(writes: readonly PartitionWrite[], work: CommitWork): Map<string, string> {
  const positions = new Map<string, string>();
  for (const { topic } of work.changelogs) {
    const last = writes.filter((entry) => entry.topic === topic && entry.partition === work.partition).at(-1);
    if (last?.count) positions.set(topic, (BigInt(last.baseOffset) + BigInt(last.count)).toString());
  }
  return positions;
}

export async function commitWork(channel: CommitChannel, work: CommitWork): Promise<void> {
  const changelog = work.changelogs.flatMap(({ topic, changes }) =>
    changelogRecords(changes, {
      topic,
      partition: work.partition,
      sourceOffset: sourceOffsetOf(work.inputs),
      epoch: work.epoch,
    }),
  );
  const records = [...work.outputs, ...changelog];
  const offsets = work.inputs.map(({ topic, offset }) => ({ topic, partition: work.partition, offset }));

  if (channel.guarantee === 'exactly_once') {
    const transaction = await channel.producer.begin();
    try {
      // 1.
      const writes = records.length > 0 ? await transaction.send(records) : [];
      // 2.
      await transaction.sendOffsets(channel.groupId, offsets);
      // 3.
      if (!work.mayCommit()) {
        throw new SluiceError(
          'KAFKA_FENCED',
          'the lease stopped allowing commits during the commit: aborted',
        );
      }
      await transaction.commit();
      // 4.
      await work.flushStores(changelogPositionsAfter(writes, work));
      return;
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }
  // 1. (acks=all) outputs and dead letters, then the changelog
  if (work.outputs.length > 0) await channel.producer.send(work.outputs);
  const writes = changelog.length > 0 ? await channel.producer.send(changelog) : [];
  // 2. + 3.
  await channel.commitOffsets(offsets);
  // 4.
  await work.flushStores(changelogPositionsAfter(writes, work));
}
