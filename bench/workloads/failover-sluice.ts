/**
 * The sluice side of W5 (failover): keyed-count under a steady feed, processors SIGKILLed again
 * and again in one deployment, the killed one restarted after each kill. Two shapes:
 * - warm standby: one slot, an active and a standby; the standby takes the lease after the TTL;
 * - no standby: two slots with an active each; slot 1's active is killed, slot 0's active borrows
 *   slot 1 after the takeover delay, and hands it back when slot 1's process is restarted.
 * Each kill waits a random part of the lease's renewal interval, by the database clock, so the
 * kill lands anywhere in the renewal cycle. The output is checked after the last kill.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { KafkaClient } from '../../common/kafka/index.ts';
import {
  createLeaseRepository,
  type LeaseRepository,
} from '../../processor/coordination/lease-repository.ts';
import type { BenchContext } from '../lib/context.ts';
import { killAndTime, loadNow } from '../lib/failover-kill.ts';
import {
  checkFailoverOutput,
  type FailoverRun,
  prepareFailoverTopics,
  recordResources,
  startFailoverRunRecord,
} from '../lib/failover-run.ts';
import { watchOutput } from '../lib/output-watch.ts';
import { createProcessTally } from '../lib/process-stats.ts';
import {
  apps,
  benchDeployment,
  type RunningProcess,
  spawnSluiceProcessor,
} from '../lib/sluice-processor-run.ts';

export type SluiceShape = 'standby' | 'borrowed';

/** The processors' defaults (README, high availability): the kills land within this period. */
const renewalIntervalMs = 500;
const waitTimeoutMs = 120_000;

interface Instance {
  slot: number;
  stateDir: string;
  /** The address it advertises (SLUICE_ADVERTISED_ADDRESS), as the lease and members tables show it. */
  address: string;
  process: RunningProcess;
}

/** A `takeover step: ...` line of a processor's log (pino JSON). */
interface TakeoverStep {
  step: string;
  /** When it was logged (Date.now() of the processor, same machine). */
  time: number;
  takenSlot?: number;
  partition?: number;
}

function takeoverSteps(output: string): TakeoverStep[] {
  return output
    .split('\n')
    .filter((line) => line.includes('"takeover step: ') && line.endsWith('}'))
    .map((line) => {
      const entry = JSON.parse(line) as Omit<TakeoverStep, 'step'> & { msg: string };
      const step = entry.msg.slice('takeover step: '.length);
      return { step, time: entry.time, takenSlot: entry.takenSlot, partition: entry.partition };
    });
}

/** Step name → ms from the kill to its log line; the first of repeated ones (first commit per partition). */
function stepsAfterKill(steps: readonly TakeoverStep[], killedAt: number): Record<string, number> {
  const first: Record<string, number> = {};
  for (const { step, time } of steps) first[`kill -> ${step}`] ??= time - killedAt;
  return first;
}

/** Polls `check` until it finds something; on timeout, says what was awaited and `describe()`'s state. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  describe?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    const found = await check().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const state = describe ? `; ${await describe().catch((error) => String(error))}` : '';
      throw new Error(`failover (sluice): ${what} did not happen within 120 s${state}`);
    }
    await sleep(100);
  }
}

/**
 * Sleeps until the slot's lease is at a uniformly random point of its renewal interval (by the
 * database's renewal age); returns that offset (ms after the last renewal).
 */
async function toRandomRenewalPhase(
  repository: LeaseRepository,
  appId: string,
  slot: number,
): Promise<number> {
  const target = Math.floor(Math.random() * renewalIntervalMs);
  const askedAt = Date.now();
  const lease = (await repository.leases(appId)).find((entry) => entry.slot === slot);
  const ageMs = (lease?.ageMs ?? 0) + (Date.now() - askedAt) / 2;
  await sleep((((target - ageMs) % renewalIntervalMs) + renewalIntervalMs) % renewalIntervalMs);
  return target;
}

export async function sluiceFailoverRun(
  context: BenchContext,
  kafka: KafkaClient,
  shape: SluiceShape,
  kills: number,
): Promise<FailoverRun> {
  const partitions = 4;
  const slots = shape === 'standby' ? 1 : 2;
  const victimSlot = slots - 1;
  const watched = [...Array(partitions).keys()].filter((partition) => partition % slots === victimSlot);
  const id = `bench-fo-${shape}-${Date.now().toString(36)}`;
  const deployment = benchDeployment(context.services, {
    app: apps.keyedCount,
    appId: id,
    inputTopic: `${id}-in`,
    outputTopic: `${id}-out`,
    partitions,
    cluster: { slots },
  });
  const run: FailoverRun = startFailoverRunRecord(`sluice, ${shape}`);
  const feed = await prepareFailoverTopics(context, kafka, id, partitions);
  const spawn = (slot: number, stateDir: string): Instance => {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    return {
      slot,
      stateDir,
      address: `http://127.0.0.1:${port}`,
      process: spawnSluiceProcessor(deployment, { stateDir, slot, port }),
    };
  };
  // warm standby: both of slot 0; no standby: one per slot
  const instances = [0, 1].map((i) => spawn(shape === 'standby' ? 0 : i, `${deployment.dir}/state-${i}`));
  const pool = new pg.Pool({ connectionString: context.services.databaseUrl, max: 1 });
  const repository = createLeaseRepository(pool, 'sluice');
  const watch = await watchOutput(kafka, deployment.outputTopic, watched);
  const tally = createProcessTally();
  // instances are told apart by the address each advertises: an instance id is the state
  // directory's identity, the same for a process restarted on it
  const holderOf = async (slot: number) => {
    const address = (await repository.leases(id)).find((lease) => lease.slot === slot)?.holderAddress;
    return instances.find((entry) => entry.address === address);
  };
  try {
    for (let kill = 0; kill < kills; kill++) {
      // steady state: the victim slot's own instance active and running every task
      const victim = await until("the victim slot's own active", async () => {
        const holder = await holderOf(victimSlot);
        return holder?.slot === victimSlot &&
          takeoverSteps(holder.process.output()).some((s) => s.step === 'every task restored and running')
          ? holder
          : undefined;
      });
      const successor = instances.find((entry) => entry !== victim)!;
      if (shape === 'standby') {
        // a warm standby: following the changelog, caught up (lag below a second of input)
        await until(
          'a caught-up standby',
          async () => {
            const members = await repository.members(id);
            const member = members.find((entry) => entry.address === successor.address);
            return member?.role === 'standby' && member.kafkaOk && (member.changelogLag ?? Infinity) < 2000
              ? true
              : undefined;
          },
          // the members table and the standby's last log lines: why it never counted as caught up
          async () =>
            `members: ${JSON.stringify(await repository.members(id))}; ${successor.address} (exited: ${successor.process.exited()}) last logged:\n${successor.process.output().split('\n').slice(-15).join('\n')}`,
        );
      }
      await sleep(3000);
      const load = loadNow();
      const renewalPhaseMs = await toRandomRenewalPhase(repository, id, victimSlot);
      const logMark = successor.process.output().length;
      for (const pid of instances.map((entry) => entry.process.child.pid)) tally.sample(pid);
      const { ms, killedAt } = await killAndTime(watch, victim.process, watched);
      // the successor's own account of the takeover (its log, durations from acquiring the lease)
      const steps = await until('the takeover to finish', async () => {
        const found = takeoverSteps(successor.process.output().slice(logMark)).filter(
          (s) => s.takenSlot === undefined || s.takenSlot === victimSlot,
        );
        const done = ['every task restored and running', 'first commit'];
        return done.every((name) => found.some((s) => s.step === name)) ? found : undefined;
      });
      run.kills.push({ ms, load, delayMs: renewalPhaseMs, steps: stepsAfterKill(steps, killedAt) });
      context.log(`failover: sluice (${shape}) kill ${kill + 1}/${kills}: ${ms} ms (load ${load})`);
      instances[instances.indexOf(victim)] = spawn(victim.slot, victim.stateDir);
    }
    await feed.stop();
    for (const pid of instances.map((entry) => entry.process.child.pid)) tally.sample(pid);
    await recordResources(run, tally.totals(), kafka, `${id}-in`);
    run.check = await checkFailoverOutput(context, kafka, id, 'sluice');
    return run;
  } finally {
    await feed.stop();
    await watch.stop();
    await Promise.all(instances.map((entry) => entry.process.stop()));
    await pool.end();
    rmSync(deployment.dir, { recursive: true, force: true });
  }
}
