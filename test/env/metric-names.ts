/**
 * Metric names on both sides of the monitoring check: the names a PromQL expression (or a Grafana
 * `label_values(...)` query) selects, and the sample names a Prometheus text scrape can contain.
 * Data-driven on purpose: a metric added to sluice or to the dashboard needs no list updated here.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names an expression selects (functions, keywords, labels and literals left out). */
export function metricNamesInPromQL(expression: string): Set<string> {
  const labelValues = /^\s*label_values\(\s*(.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(expression);
  const text = (labelValues ? labelValues[1]! : expression)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{[^}]*\}|\$\w+/g, ' '); // Grafana variables
  const names = new Set<string>();
  // numbers and durations (0.99, 5m, 1e3) start with a digit and are skipped whole
  for (const match of text.matchAll(/\d[\w.]*|[a-zA-Z_:][\w:]*/g)) {
    const token = match[0];
    if (/^\d/.test(token) || KEYWORDS.has(token.toLowerCase())) continue;
    const after = text.slice(match.index + token.length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    names.add(token);
  }
  return names;
}

/**
 * The sample names a scrape in the Prometheus text format declares, from its `# TYPE` lines (so a
 * labelled metric counts before its first sample): histograms add _bucket, _sum and _count.
 */
export function sampleNamesInScrape(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}
