/** A slot cluster of real processor processes over an analytics fixture, for HA tests. */
import type { CutUser } from '../env/network-cut.ts';
import type { SluiceProcess } from '../env/sluice-process.ts';
import { waitFor } from '../env/wait.ts';
import type { AnalyticsFixture, ProcessorProcess } from '../integration/processor/fixture.ts';

export interface SlotCluster {
  /**
   * Starts a member of the slot; with `user`, as that Unix user, so a network cut can single it
   * out; the same `name` again reuses that member's state directory.
   */
  start(
    slot: number,
    options?: { args?: string[]; user?: CutUser; name?: string },
  ): Promise<ProcessorProcess>;
  /** The process holding the slot's lease, and its epoch. */
  activeOf(slot: number): Promise<{ process: ProcessorProcess; epoch: number } | undefined>;
  waitForActives(): Promise<void>;
  /**
   * The usual deployment: one member per slot (they become the actives), then, once every slot
   * has its active, `standbysPerSlot` more per slot. Returns them by slot.
   */
  deploy(standbysPerSlot?: number): Promise<{ actives: ProcessorProcess[]; standbys: ProcessorProcess[][] }>;
  forget(process: SluiceProcess): void;
  /** The last log lines of every member, for a failure message. */
  logs(lines?: number): string;
  partitionsOf(slot: number): number[];
}

export function slotCluster(fixture: AnalyticsFixture, slots: number, partitions: number): SlotCluster {
  const members = new Map<number, ProcessorProcess[]>([...Array(slots).keys()].map((slot) => [slot, []]));
  let started = 0;
  const cluster: SlotCluster = {
    async start(slot, { args = [], user, name = `slot${slot}-${started++}` } = {}) {
      const process = await fixture.startProcessor({ name, slot, args, user });
      members.get(slot)!.push(process);
      return process;
    },
    async activeOf(slot) {
      const lease = (await fixture.leases.leases(fixture.appId)).find((entry) => entry.slot === slot);
      // the holder is an identity of a state directory (it outlives a process); the address is per process
      const process = members.get(slot)!.find((candidate) => candidate.address === lease?.holderAddress);
      return process && lease ? { process, epoch: lease.epoch } : undefined;
    },
    async waitForActives() {
      for (let slot = 0; slot < slots; slot++) {
        await waitFor(`slot ${slot} to have an active`, () => cluster.activeOf(slot));
      }
    },
    async deploy(standbysPerSlot = 1) {
      const all = [...Array(slots).keys()];
      const actives = await Promise.all(all.map((slot) => cluster.start(slot)));
      await cluster.waitForActives();
      const standbys = await Promise.all(
        all.map((slot) => Promise.all(Array.from({ length: standbysPerSlot }, () => cluster.start(slot)))),
      );
      return { actives, standbys };
    },
    logs(lines = 25) {
      return [...members.values()]
        .flat()
        .map(
          (process) =>
            `--- ${process.name} (pid ${process.child.pid})\n${process.output().trim().split('\n').slice(-lines).join('\n')}`,
        )
        .join('\n');
    },
    forget(process) {
      for (const [slot, list] of members)
        members.set(
          slot,
          list.filter((candidate) => candidate !== process),
        );
    },
    partitionsOf: (slot) => [...Array(partitions).keys()].filter((p) => p % slots === slot),
  };
  return cluster;
}
