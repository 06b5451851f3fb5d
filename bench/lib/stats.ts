/** Small statistics for benchmark figures. */

/** The nearest-rank percentile (a value that was measured), for latency distributions. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * The median: the middle value, or the mean of the two middle values of an even count (the
 * nearest-rank 50th percentile of two runs would be their minimum, flattering whoever ran faster once).
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median and spread (min–max) of repeated runs; NaN figures for no runs. */
export function summary(values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: 0 };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length };
}

/** "median (min–max, n runs)" with the given formatting of one figure. */
export function formatSummary(figure: Summary, format: (value: number) => string): string {
  return `${format(figure.median)} (${format(figure.min)}–${format(figure.max)}, ${figure.runs} runs)`;
}
