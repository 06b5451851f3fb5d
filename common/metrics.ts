/**
 * Prometheus metrics: one registry per process, with Node's default metrics. Names follow
 * `sluice_<part>_<what>_<unit>`; each part declares its own metrics next to its code.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createMetricsRegistry(
  labels: Record<string, string> = {},
  /** Node's process metrics; off in worker threads, whose registries the main thread's joins. */
  options: { defaultMetrics?: boolean } = {},
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  return registry;
}
