/**
 * Prometheus metrics: one registry per process, with Node's default metrics. Names follow
 * `sluice_<part>_<what>_<unit>`; each part declares its own metrics next to its code.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  return registry;
}
