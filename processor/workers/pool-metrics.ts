/**
 * /metrics of an instance with worker threads: the main thread's registry (process metrics,
 * lease and role) and every worker's (tasks, commits, restore) joined into one set, summed per
 * series, as prom-client's cluster support does for forked processes.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { WorkerPool } from './worker-pool.ts';

/** What the HTTP port needs of metrics: the exposition text and its content type. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** One registry with the main thread's and the workers' metrics, read now. */
export async function pooledRegistry(main: Registry, pool: WorkerPool): Promise<Registry> {
  const [own, workers] = await Promise.all([main.getMetricsAsJSON(), pool.metrics()]);
  return AggregatorRegistry.aggregate([own, ...workers]);
}

export function pooledMetrics(main: Registry, pool: WorkerPool): MetricsSource {
  return {
    contentType: main.contentType,
    metrics: async () => (await pooledRegistry(main, pool)).metrics(),
  };
}
