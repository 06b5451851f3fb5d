/**
 * Where a task stands in each of its input partitions (partition p of every input topic of its
 * sub-topology): the next offset to process, the offset last committed to the group, and the
 * offset a seek asked for (batches fetched from elsewhere are dropped until one starts there).
 * The task owns this; it is the one place that says which offsets a commit sends.
 */

interface Cursor {
  /** Next input offset to process. */
  position: string;
  /** The position last committed to the consumer group. */
  committed: string;
  /** Set by a seek: batches fetched from elsewhere are dropped until one starts here. */
  awaitingFetchFrom: string | undefined;
}

export class InputPositions {
  private readonly cursors = new Map<string, Cursor>();

  constructor(topics: readonly string[]) {
    for (const topic of topics) {
      this.cursors.set(topic, { position: '0', committed: '0', awaitingFetchFrom: '0' });
    }
  }

  get topics(): string[] {
    return [...this.cursors.keys()];
  }

  private cursor(topic: string): Cursor {
    const cursor = this.cursors.get(topic);
    if (!cursor) throw new Error(`the task does not read ${topic} (its inputs: ${this.topics.join(', ')})`);
    return cursor;
  }

  /** Opening: every input resumes at its committed offset, and the next batch must start there. */
  open(committed: ReadonlyMap<string, string>): void {
    for (const [topic, cursor] of this.cursors) {
      const offset = committed.get(topic) ?? '0';
      cursor.position = offset;
      cursor.committed = offset;
      cursor.awaitingFetchFrom = offset;
    }
  }

  position(topic: string): string {
    return this.cursor(topic).position;
  }

  /** The offset the reader of `topic` must fetch from next (the task asks for it with a seek). */
  seekTarget(topic: string): string | undefined {
    return this.cursor(topic).awaitingFetchFrom;
  }

  /**
   * Whether a batch fetched from `fetchedOffset` is the one the task waits for: false drops it
   * (fetched before a seek took effect).
   */
  accepts(topic: string, fetchedOffset: string): boolean {
    const cursor = this.cursor(topic);
    if (cursor.awaitingFetchFrom === undefined) return true;
    if (fetchedOffset !== cursor.awaitingFetchFrom) return false;
    cursor.awaitingFetchFrom = undefined;
    return true;
  }

  advance(topic: string, nextOffset: string): void {
    const cursor = this.cursor(topic);
    if (BigInt(nextOffset) > BigInt(cursor.position)) cursor.position = nextOffset;
  }

  /** See Task.skipTo. */
  skipTo(topic: string, requested: string, logStart: string): bigint {
    const cursor = this.cursor(topic);
    if (
      (cursor.awaitingFetchFrom ?? cursor.position) !== requested ||
      BigInt(logStart) <= BigInt(cursor.position)
    )
      return 0n;
    const skipped = BigInt(logStart) - BigInt(cursor.position);
    cursor.position = logStart;
    cursor.awaitingFetchFrom = logStart;
    return skipped;
  }

  /** Drops batches until one fetched from the position arrives, and returns that position. */
  refetch(topic: string): string {
    const cursor = this.cursor(topic);
    cursor.awaitingFetchFrom = cursor.position;
    return cursor.position;
  }

  /** Every input's position now: what a commit sends. */
  snapshot(): { topic: string; offset: string }[] {
    return [...this.cursors].map(([topic, cursor]) => ({ topic, offset: cursor.position }));
  }

  /** True when some position moved since the last commit. */
  moved(): boolean {
    return [...this.cursors.values()].some((cursor) => cursor.position !== cursor.committed);
  }

  committed(snapshot: readonly { topic: string; offset: string }[]): void {
    for (const { topic, offset } of snapshot) this.cursor(topic).committed = offset;
  }
}
