/** Prometheus metrics of a processor instance (sluice_processor_*). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  recordsIn: Counter<'partition'>;
  recordsOut: Counter;
  deadLetters: Counter<'stage'>;
  processSeconds: Histogram;
  commitSeconds: Histogram;
  lag: Gauge<'partition'>;
  restoreDone: Gauge<'partition'>;
  restoreTotal: Gauge<'partition'>;
  cacheEntries: Gauge<'partition'>;
  /** Store directories of the running tasks by partition; their sizes are read at each scrape. */
  storePaths: Map<string, string>;
  tasks: Gauge<'state'>;
  inputOffsetResets: Counter<'partition'>;
  inputSkippedRecords: Counter<'partition'>;
  role: Gauge<'role'>;
  leaseEpoch: Gauge;
  standbyLag: Gauge;
  /** Leases this instance holds: its own slot's, and other slots' it borrowed. */
  leasesHeld: Gauge<'kind'>;
  takeovers: Counter<'kind'>;
  takeoverSeconds: Histogram<'kind'>;
  /** Time since the active last made progress (0 while it does). */
  noProgressSeconds: Gauge;
  /** Global tables: records applied (updates and tombstones), rows held, records that could not be used. */
  tableRecordsApplied: Counter<'table'>;
  tableRows: Gauge<'table'>;
  tableUndecodable: Counter<'table'>;
}

/** Bytes on disk of a store directory (RocksDB keeps a few dozen files there). */
function directoryBytes(path: string): number {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .reduce(
        (sum, entry) => sum + (statSync(join(path, entry.name), { throwIfNoEntry: false })?.size ?? 0),
        0,
      );
  } catch {
    return 0; // closed and removed between the listing and the scrape
  }
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  const storePaths = new Map<string, string>();
  new Gauge({
    name: 'sluice_processor_store_bytes',
    help: "Bytes on disk of each running task's RocksDB store, per partition",
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const [partition, path] of storePaths) this.set({ partition }, directoryBytes(path));
    },
  });
  return {
    storePaths,
    tableRecordsApplied: new Counter({
      name: 'sluice_processor_table_records_applied_total',
      help: 'Records of global tables applied (updates and tombstones), per table',
      labelNames: ['table'],
      registers,
    }),
    tableRows: new Gauge({
      name: 'sluice_processor_table_rows',
      help: 'Rows held per global table',
      labelNames: ['table'],
      registers,
    }),
    tableUndecodable: new Counter({
      name: 'sluice_processor_table_undecodable_total',
      help: 'Records of global tables that could not be used (no key, or undecodable: the row kept its value), per table',
      labelNames: ['table'],
      registers,
    }),
    recordsIn: new Counter({
      name: 'sluice_processor_records_in_total',
      help: 'Input records processed',
      labelNames: ['partition'],
      registers,
    }),
    recordsOut: new Counter({
      name: 'sluice_processor_records_out_total',
      help: 'Records sent to the sink',
      registers,
    }),
    deadLetters: new Counter({
      name: 'sluice_processor_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by stage (decode, process, late, emit)',
      labelNames: ['stage'],
      registers,
    }),
    processSeconds: new Histogram({
      name: 'sluice_processor_batch_process_seconds',
      help: 'Time to run the pipeline over one fetched batch',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'sluice_processor_commit_seconds',
      help: 'Time of one task commit (transaction, offsets, store flush)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    lag: new Gauge({
      name: 'sluice_processor_consumer_lag_records',
      help: 'Input records behind the partition end, per partition',
      labelNames: ['partition'],
      registers,
    }),
    restoreDone: new Gauge({
      name: 'sluice_processor_restore_done_records',
      help: 'Changelog records restored so far by the current restore, per partition',
      labelNames: ['partition'],
      registers,
    }),
    restoreTotal: new Gauge({
      name: 'sluice_processor_restore_total_records',
      help: 'Changelog offsets the current restore has to cover, per partition',
      labelNames: ['partition'],
      registers,
    }),
    cacheEntries: new Gauge({
      name: 'sluice_processor_cache_entries',
      help: 'Aggregates held in the write cache, per partition',
      labelNames: ['partition'],
      registers,
    }),
    inputOffsetResets: new Counter({
      name: 'sluice_processor_input_offset_resets_total',
      help: 'Times an input partition continued from its log start because its committed offset was gone (retention)',
      labelNames: ['partition'],
      registers,
    }),
    inputSkippedRecords: new Counter({
      name: 'sluice_processor_input_skipped_records_total',
      help: 'Input records removed by retention before they were processed (skipped by an offset reset)',
      labelNames: ['partition'],
      registers,
    }),
    tasks: new Gauge({
      name: 'sluice_processor_tasks',
      help: 'Owned partitions by task state (created, restoring, running, suspended, corrupted)',
      labelNames: ['state'],
      registers,
    }),
    role: new Gauge({
      name: 'sluice_processor_role',
      help: '1 for the role this instance has now (starting, standby, taking-over, active, demoting, stopped)',
      labelNames: ['role'],
      registers,
    }),
    leaseEpoch: new Gauge({
      name: 'sluice_processor_lease_epoch',
      help: 'Epoch of the lease held (active)',
      registers,
    }),
    standbyLag: new Gauge({
      name: 'sluice_processor_standby_changelog_lag_records',
      help: 'Changelog records a standby has not applied yet',
      registers,
    }),
    leasesHeld: new Gauge({
      name: 'sluice_processor_leases_held',
      help: "Slot leases held by this instance: its own slot's (own) and other slots' (borrowed)",
      labelNames: ['kind'],
      registers,
    }),
    takeovers: new Counter({
      name: 'sluice_processor_takeovers_total',
      help: "Leases taken over: this instance's own slot (own) or another slot without a live instance (borrowed)",
      labelNames: ['kind'],
      registers,
    }),
    takeoverSeconds: new Histogram({
      name: 'sluice_processor_takeover_seconds',
      help: 'From the lease acquired to every task of the slot running (tailer stopped, fenced, restored)',
      labelNames: ['kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120],
      registers,
    }),
    noProgressSeconds: new Gauge({
      name: 'sluice_processor_no_progress_seconds',
      help: 'How long the active has made no progress (no fetch answered, or tasks failing); 0 while it does',
      registers,
    }),
  };
}
