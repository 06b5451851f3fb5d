/**
 * A transaction's commit or abort resolves once the coordinator has logged the decision; the
 * broker writes the markers into the partitions after that. A test that takes a log's end as "all
 * my transactions are in" waits for the markers first, or it reads an end the log then passes.
 */
import type { KafkaAdmin } from '../../common/kafka/index.ts';
import { waitFor } from './wait.ts';

/** Waits until the partitions' ends (high watermarks, markers included) are `expected`, and returns them. */
export async function endsWithMarkers(
  admin: KafkaAdmin,
  topic: string,
  expected: ReadonlyMap<number, string>,
): Promise<Map<number, string>> {
  let ends = new Map<number, string>();
  await waitFor(
    `the transaction markers of ${topic}`,
    async () => {
      ends = new Map((await admin.topicOffsets(topic)).map(({ partition, high }) => [partition, high]));
      return [...expected].every(([partition, end]) => ends.get(partition) === end);
    },
    { describe: () => ({ expected: Object.fromEntries(expected), ends: Object.fromEntries(ends) }) },
  );
  return ends;
}
