/**
 * Every message between the main thread and a processor worker thread. The main thread keeps the
 * lease, the slot role, Postgres and the HTTP port; a worker runs the tasks it is given, with its
 * own Kafka clients and stores. Requests carry an id and are answered once (`reply`); the worker
 * also pushes snapshots of its tasks, and says when it cannot go on (`fatal`).
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { LoadedConfig } from '../../common/config/load.ts';
import type { LogLevel } from '../../common/log.ts';
import type { TaskStatus } from '../task/task-lifecycle.ts';

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  workerId: number;
  loaded: LoadedConfig;
  logLevel: LogLevel;
  /** The commit deadlines of the leases the main thread holds (lease-cells.ts). */
  leaseCells: SharedArrayBuffer;
}

/** Work the main thread asks of a worker; each is answered by one `reply` with the same id. */
export type WorkerRequest =
  /** Start the active side: read owned partitions by assignment (cluster) or join the group. */
  | { type: 'start'; mode: 'assigned' | 'group' }
  /** Run tasks for these partitions under the lease whose deadline is in cell `cell`. */
  | { type: 'own'; partitions: number[]; cell: number; epoch: number }
  /** Close these partitions' tasks; with `commit`, their pending work first. */
  | { type: 'disown'; partitions: number[]; commit: boolean }
  /** Stop the active side: commit and close (clean stop), or close without committing (lease lost). */
  | { type: 'stop'; commit: boolean }
  /** State queries on a running task's committed store. */
  | { type: 'store-get'; partition: number; store: string; keys: Uint8Array[] }
  | { type: 'store-range'; partition: number; store: string; gte?: Uint8Array; lt?: Uint8Array }
  /** State queries on a running task's partition of a partitioned table (rows as of times). */
  | { type: 'table-rows'; partition: number; table: string; lookups: { key: string; timestamp: number }[] }
  /** The worker's Prometheus metrics, to be aggregated with the others'. */
  | { type: 'metrics' }
  /** Stop everything and close the runtime; the thread then ends. */
  | { type: 'close' };

export type WorkerRequestMessage = WorkerRequest & { id: number };

/** What the worker knows of its tasks, pushed every 50 ms; times as "ms ago" (each thread has its own clock origin). */
export interface WorkerSnapshot {
  owned: number[];
  running: number[];
  paused: number[];
  statuses: (Omit<TaskStatus, 'since'> & { sinceAgoMs: number })[];
  failingAgoMs?: number;
  restoring: boolean;
  lastFetchAgoMs?: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: { message: string; stack?: string } }
  | { type: 'snapshot'; snapshot: WorkerSnapshot }
  /** A task in the worker was fenced in Kafka: the lease of this cell must be confirmed again. */
  | { type: 'reconfirm'; cell: number }
  /** A failure no restart can fix: the instance must stop (exit non-zero). */
  | { type: 'fatal'; error: { message: string; stack?: string } };

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];
