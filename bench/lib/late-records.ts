/**
 * Late records across a repartition. Which records a downstream window aggregation finds late
 * depends on how the upstream tasks' writes interleave in the repartition topic, so it differs
 * from run to run and between engines. Each engine names its late records (sluice in its
 * dead-letter topic, the Kafka Streams peer in a topic of its own); the expected output is then
 * the independent computation over the input without exactly those records.
 */

/**
 * `all` without one occurrence of each of `removed`, matched by `keyOf` (records equal under the
 * key must be interchangeable for the computation that follows). A removed record that `all`
 * does not hold (or holds fewer times) is an error: an engine named a record it was never given.
 */
export function withoutEach<A, R>(
  all: readonly A[],
  removed: readonly R[],
  keyOf: { all: (record: A) => string; removed: (record: R) => string },
): A[] {
  const left = new Map<string, number>();
  for (const record of removed) {
    const key = keyOf.removed(record);
    left.set(key, (left.get(key) ?? 0) + 1);
  }
  const kept = all.filter((record) => {
    const key = keyOf.all(record);
    const count = left.get(key) ?? 0;
    if (count === 0) return true;
    left.set(key, count - 1);
    return false;
  });
  const unmatched = [...left].filter(([, count]) => count > 0);
  if (unmatched.length > 0)
    throw new Error(
      `${unmatched.reduce((sum, [, count]) => sum + count, 0)} late record(s) not in the input, e.g. ${unmatched[0]![0]}`,
    );
  return kept;
}

/**
 * An identity for records that have no unique key of their own (e.g. per-partition partial
 * windows, several per API and window): the record's content. Two equal records then count as a
 * duplicate, which the comparison reports; for windows over many records that means a real one.
 */
export const contentIdentity = (record: unknown): string =>
  JSON.stringify(record, (_key, value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );

/** Event time of `closedAt` or later closes every window of the input (size plus grace after the last). */
export function closingTime(lastEventTime: number, windowSize: number, grace: number): number {
  return (Math.floor(lastEventTime / windowSize) + 1) * windowSize + grace;
}
