/**
 * Checks a running count per key (keyed-count in sluice, `count` in the Kafka Streams peer)
 * against its input, by content: for every key the committed outputs, in offset order, must
 * strictly increase (a repeated or smaller count is a duplicate or a lost update) and the last
 * one must equal the number of input records with that key (fewer is loss, more is double
 * counting). Engines may skip intermediate counts (Kafka Streams' cache does), never repeat one.
 */

export interface CountOutput {
  key: string;
  count: number;
}

export interface CountCheck {
  ok: boolean;
  keys: number;
  inputRecords: number;
  outputRecords: number;
  /** The first few problems, each naming the key and what was wrong. */
  problems: string[];
}

const maxProblems = 10;

/**
 * @param inputKeys the key of every input record
 * @param outputs the committed outputs in offset order (one key only ever lands in one partition,
 *   so the concatenation of the partitions keeps each key's order)
 */
export function checkRunningCounts(inputKeys: Iterable<string>, outputs: Iterable<CountOutput>): CountCheck {
  const expected = new Map<string, number>();
  let inputRecords = 0;
  for (const key of inputKeys) {
    expected.set(key, (expected.get(key) ?? 0) + 1);
    inputRecords++;
  }
  const last = new Map<string, number>();
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < maxProblems) problems.push(text);
  };
  let outputRecords = 0;
  for (const { key, count } of outputs) {
    outputRecords++;
    const previous = last.get(key);
    if (previous !== undefined && count <= previous) {
      problem(`key ${key}: count ${count} after ${previous} (a duplicate or a lost update)`);
    }
    last.set(key, count);
  }
  for (const [key, count] of expected) {
    const final = last.get(key);
    if (final === undefined) problem(`key ${key}: ${count} input records, no output`);
    else if (final !== count) problem(`key ${key}: final count ${final}, input has ${count} records`);
  }
  for (const key of last.keys()) {
    if (!expected.has(key)) problem(`key ${key}: output without any input record`);
  }
  return { ok: problems.length === 0, keys: expected.size, inputRecords, outputRecords, problems };
}
