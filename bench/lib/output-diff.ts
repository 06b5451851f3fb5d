/**
 * Compares an engine's output with the expected output, exactly: records are matched by identity
 * (e.g. tenant, api and window), and every field must be equal. A missing record, an extra one, a
 * duplicate or a different value is a problem; a benchmark figure with a problem is not reported.
 */

export interface OutputDiff {
  ok: boolean;
  expected: number;
  actual: number;
  missing: number;
  unexpected: number;
  duplicated: number;
  different: number;
  /** The first few problems, each naming the record and what was wrong. */
  problems: string[];
}

const maxProblems = 10;

/** Field-by-field equality of plain records (numbers, strings, booleans, nested plain values). */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : typeof inner === 'bigint'
        ? inner.toString()
        : inner,
  );

export function diffOutputs<T>(
  expected: Iterable<T>,
  actual: Iterable<T>,
  identityOf: (record: T) => string,
): OutputDiff {
  const wanted = new Map<string, string>();
  let expectedCount = 0;
  for (const record of expected) {
    wanted.set(identityOf(record), canonical(record));
    expectedCount++;
  }
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < maxProblems) problems.push(text);
  };
  const seen = new Set<string>();
  let actualCount = 0;
  let unexpected = 0;
  let duplicated = 0;
  let different = 0;
  for (const record of actual) {
    actualCount++;
    const identity = identityOf(record);
    const body = canonical(record);
    if (seen.has(identity)) {
      duplicated++;
      problem(`${identity}: emitted more than once`);
      continue;
    }
    seen.add(identity);
    const expectedBody = wanted.get(identity);
    if (expectedBody === undefined) {
      unexpected++;
      problem(`${identity}: not expected, got ${body}`);
    } else if (expectedBody !== body) {
      different++;
      problem(`${identity}: expected ${expectedBody}, got ${body}`);
    }
  }
  let missing = 0;
  for (const identity of wanted.keys()) {
    if (!seen.has(identity)) {
      missing++;
      problem(`${identity}: missing`);
    }
  }
  return {
    ok: missing + unexpected + duplicated + different === 0,
    expected: expectedCount,
    actual: actualCount,
    missing,
    unexpected,
    duplicated,
    different,
    problems,
  };
}

/** One line for a report: "equal (N records)" or the counts and the first problems. */
export function describeDiff(diff: OutputDiff): string {
  if (diff.ok) return `equal to the expected output (${diff.expected} records)`;
  return (
    `differs from the expected output: ${diff.missing} missing, ${diff.unexpected} unexpected, ` +
    `${diff.duplicated} duplicated, ${diff.different} different (of ${diff.expected} expected, ${diff.actual} emitted); ` +
    `first: ${diff.problems.join('; ')}`
  );
}
