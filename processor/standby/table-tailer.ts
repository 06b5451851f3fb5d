/**
 * A standby's partitioned tables: it follows partition p of each partitioned table for every
 * partition p of its slot, into the same stores the active task uses (partitioned-table.ts), so
 * that a takeover only reads the tables' last records. Seen by the standby as one more tailer.
 */
import type { TablePlan } from '../app/topology.ts';
import { openPartitionedTable, type PartitionedTable } from '../tables/partitioned-table.ts';
import type { ChangelogTailer } from './changelog-tailer.ts';

export async function startTableTailer(
  options: Omit<Parameters<typeof openPartitionedTable>[0], 'plan' | 'partition' | 'wipe'> & {
    tables: readonly TablePlan[];
    partitions: readonly number[];
  },
): Promise<ChangelogTailer> {
  const followed: PartitionedTable[] = [];
  try {
    for (const plan of options.tables.filter((table) => table.kind === 'partitioned')) {
      for (const partition of options.partitions) {
        followed.push(await openPartitionedTable({ ...options, plan, partition }));
      }
    }
  } catch (error) {
    await Promise.all(followed.map((table) => table.stop()));
    throw error;
  }
  return {
    storeFor: () => undefined, // state queries answer for aggregation stores
    lag: async () => (await Promise.all(followed.map((table) => table.lag()))).reduce((a, b) => a + b, 0),
    lastFetchAt() {
      const times = followed.map((table) => table.lastFetchAt());
      return times.includes(undefined) ? undefined : Math.min(...(times as number[]));
    },
    stop: async () => {
      await Promise.all(followed.map((table) => table.stop()));
    },
  };
}
