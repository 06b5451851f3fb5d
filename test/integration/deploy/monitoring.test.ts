/**
 * The dashboard and the alert rules the chart ships query only metrics sluice exports: every
 * metric name in their expressions must be declared by the /metrics of a running router or
 * processor (cluster mode, so the slot and lease metrics are there). Names on both sides are read
 * from the files and the scrapes, so a metric added later needs no change here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { metricNamesInPromQL, sampleNamesInScrape } from '../../env/metric-names.ts';
import { toolPath } from '../../env/tools.ts';
import { createAnalyticsFixture } from '../processor/fixture.ts';
import { createRouterFixture } from '../router/router-fixture.ts';

const chart = resolve(import.meta.dirname, '..', '..', '..', 'helm', 'sluice');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests and dashboard JSON are walked loosely
type Json = any;

function renderMonitoring(): Json[] {
  const output = execFileSync(
    toolPath('helm'),
    ['template', 'prod', chart, '--namespace', 'streams', '--set', 'prometheusRule.enabled=true'],
    { encoding: 'utf8' },
  );
  return parseAllDocuments(output)
    .map((document) => document.toJS())
    .filter(Boolean);
}

/** Every PromQL expression of a dashboard: panel targets (rows included) and template queries. */
function dashboardExpressions(dashboard: Json): string[] {
  const panels = (list: Json[]): Json[] => list.flatMap((panel) => [panel, ...panels(panel.panels ?? [])]);
  const targets = panels(dashboard.panels).flatMap((panel) => panel.targets ?? []);
  const templates = dashboard.templating.list
    .filter((variable: Json) => variable.type === 'query')
    .map((variable: Json) => (typeof variable.query === 'string' ? variable.query : variable.query.query));
  return [...targets.map((target: Json) => target.expr), ...templates];
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('dashboard and alert rules', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((cleanup) => cleanup()));
  });

  it('ships the dashboard file as a ConfigMap Grafana picks up, and a rule for each alert', () => {
    const manifests = renderMonitoring();
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard'));
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(configMap.data['sluice.json'])).toEqual(
      JSON.parse(readFileSync(join(chart, 'dashboards', 'sluice.json'), 'utf8')),
    );
    const rules = manifests.find((m) => m.kind === 'PrometheusRule');
    const alerts = rules.spec.groups.flatMap((group: Json) => group.rules.map((rule: Json) => rule.alert));
    expect(alerts.sort()).toEqual(
      [
        'SluiceConsumerLagGrowing',
        'SluiceDeadLetters',
        'SluiceRestoreRunningLong',
        'SluiceRouterErrors',
        'SluiceSlotWithoutActive',
        'SluiceStandbyMissing',
      ].sort(),
    );
  });

  it('queries only metrics that a running router and processor export', async () => {
    const manifests = renderMonitoring();
    const dashboard = JSON.parse(readFileSync(join(chart, 'dashboards', 'sluice.json'), 'utf8'));
    const rules = manifests.find((m) => m.kind === 'PrometheusRule');
    const expressions = [
      ...dashboardExpressions(dashboard),
      ...rules.spec.groups.flatMap((group: Json) => group.rules.map((rule: Json) => rule.expr)),
    ];
    const queried = new Set(expressions.flatMap((expression) => [...metricNamesInPromQL(expression)]));
    // not vacuous: the panels and rules the issue asks for are there
    expect(queried.size).toBeGreaterThan(10);
    for (const name of [
      'sluice_router_rejects_total',
      'sluice_processor_role',
      'sluice_processor_lease_epoch',
    ]) {
      expect(queried).toContain(name);
    }

    const routers = await createRouterFixture();
    cleanups.push(() => routers.cleanup());
    const router = await routers.startRouter();
    const processors = await createAnalyticsFixture({ partitions: 2, slots: 1 });
    cleanups.push(() => processors.cleanup());
    const processor = await processors.startProcessor({ slot: 0 });

    const exported = new Set([
      ...sampleNamesInScrape(await scrape(router.url)),
      ...sampleNamesInScrape(await scrape(processor.address)),
    ]);
    const missing = [...queried].filter((name) => !exported.has(name)).sort();
    expect(missing, 'metrics the dashboard or the rules query but no sluice process exports').toEqual([]);
  });
});
