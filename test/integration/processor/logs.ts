/** Reading a processor's JSON log lines in tests. */

export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** Changelog records restored per partition, from the "task running" lines (latest per partition). */
export function restoredByPartition(output: string): Map<number, number> {
  const restored = new Map<number, number>();
  for (const line of logLines(output)) {
    if (line.msg === 'task running') restored.set(line.partition as number, line.restored as number);
  }
  return restored;
}
