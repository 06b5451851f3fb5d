import { describe, expect, it } from 'vitest';
import { metricNamesInPromQL, sampleNamesInScrape } from '../env/metric-names.ts';

describe('metric names in PromQL', () => {
  it('keeps the selected metrics and drops functions, keywords, labels, ranges and literals', () => {
    const names = metricNamesInPromQL(
      'histogram_quantile(0.99, sum by (le, app) (rate(sluice_processor_commit_seconds_bucket{app=~"$app", x="a{b}"}[$__rate_interval])))' +
        ' / on (app) group_left sum without (pod) (sluice_processor_role{role="active"} offset 5m) > 1e3 and bool up',
    );
    expect([...names].sort()).toEqual([
      'sluice_processor_commit_seconds_bucket',
      'sluice_processor_role',
      'up',
    ]);
  });

  it('reads the metric of a Grafana label_values query, not its label', () => {
    expect([...metricNamesInPromQL('label_values(sluice_process_start_time_seconds, namespace)')]).toEqual([
      'sluice_process_start_time_seconds',
    ]);
    expect([
      ...metricNamesInPromQL('label_values(sluice_processor_records_in_total{namespace=~"$ns"}, app)'),
    ]).toEqual(['sluice_processor_records_in_total']);
  });

  it('finds a metric used bare, inside absent() and on both sides of a binary operator', () => {
    expect([...metricNamesInPromQL('absent(a_total{x="1"}) or b_seconds - c_records < 3')].sort()).toEqual([
      'a_total',
      'b_seconds',
      'c_records',
    ]);
  });
});

describe('sample names in a scrape', () => {
  it('declares every metric from its TYPE line, with the series names of histograms and summaries', () => {
    const scrape = [
      '# HELP sluice_router_events_total Events',
      '# TYPE sluice_router_events_total counter',
      '# TYPE sluice_router_produce_seconds histogram',
      'sluice_router_produce_seconds_bucket{le="0.001"} 0',
      '# TYPE gc_pause summary',
      '# TYPE sluice_processor_role gauge',
    ].join('\n');
    expect([...sampleNamesInScrape(scrape)].sort()).toEqual([
      'gc_pause',
      'gc_pause_count',
      'gc_pause_sum',
      'sluice_processor_role',
      'sluice_router_events_total',
      'sluice_router_produce_seconds',
      'sluice_router_produce_seconds_bucket',
      'sluice_router_produce_seconds_count',
      'sluice_router_produce_seconds_sum',
    ]);
  });
});
