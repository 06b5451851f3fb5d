/** Prometheus metrics of a router instance (sluice_router_*). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface RouterMetrics {
  requests: Counter<'stream' | 'status'>;
  events: Counter<'stream' | 'outcome'>;
  rejects: Counter<'reason'>;
  produceSeconds: Histogram;
  batchRecords: Histogram;
  inFlightBytes: Gauge;
}

export function createRouterMetrics(registry: Registry, inFlightBytes: () => number): RouterMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'sluice_router_requests_total',
      help: 'Requests by stream and HTTP status',
      labelNames: ['stream', 'status'],
      registers,
    }),
    events: new Counter({
      name: 'sluice_router_events_total',
      help: 'Events by stream and outcome (accepted, rejected)',
      labelNames: ['stream', 'outcome'],
      registers,
    }),
    rejects: new Counter({
      name: 'sluice_router_rejects_total',
      help: 'Rejected requests by reason (error code)',
      labelNames: ['reason'],
      registers,
    }),
    produceSeconds: new Histogram({
      name: 'sluice_router_produce_seconds',
      help: 'Time from sending a batch to Kafka acknowledging it (acks=all)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    batchRecords: new Histogram({
      name: 'sluice_router_batch_records',
      help: 'Records per produce batch',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000],
      registers,
    }),
    inFlightBytes: new Gauge({
      name: 'sluice_router_inflight_bytes',
      help: 'Bytes accepted but not yet acknowledged by Kafka',
      registers,
      collect() {
        this.set(inFlightBytes());
      },
    }),
  };
}
