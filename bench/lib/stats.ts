/** Small statistics for benchmark figures. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Median and spread (min–max) of repeated runs. */
export function summary(values: readonly number[]): {
  median: number;
  min: number;
  max: number;
  runs: number;
} {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length };
}
