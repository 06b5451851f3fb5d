/**
 * W5: SIGKILL of a processing instance under a steady feed (2 000 events/s, keyed-count, 4
 * partitions, exactly-once); the figure is the time from the kill to the first output record
 * committed by the new owner on the killed instance's partitions, seen by one read_committed
 * observer for both engines (bench/lib/output-watch.ts). Configurations, interleaved in rounds:
 * - sluice, defaults, warm standby (the goal of issue 11: median ≤ 2.5 s, worst ≤ 3.5 s);
 * - sluice, a slot with no standby: borrowed by the other slot's active, handed back on restart;
 * - Kafka Streams with one standby replica: its defaults (45 s session), and tuned like sluice
 *   (6 s session, 1.5 s heartbeat).
 * Every run's output is checked by content (no loss, no duplicate); a wrong one fails the run.
 */
import { createKafkaClient, type KafkaClient } from '../../common/kafka/index.ts';
import { silentLogger } from '../../common/log.ts';
import type { BenchContext } from '../lib/context.ts';
import type { FailoverRun } from '../lib/failover-run.ts';
import { ensurePeerJar } from '../lib/peer.ts';
import { type BenchResult, comparableRatio } from '../lib/results.ts';
import { median, summary } from '../lib/stats.ts';
import { sluiceFailoverRun } from './failover-sluice.ts';
import { type StreamsTuning, streamsFailoverRun } from './failover-streams.ts';

const goal = { medianMs: 2500, worstMs: 3500 };

interface Configuration {
  name: string;
  /** Kills per run, one run per round (odd totals, so the median is one of the figures). */
  kills: readonly number[];
  run(context: BenchContext, kafka: KafkaClient, kills: number): Promise<FailoverRun>;
}

const streamsDefaults: StreamsTuning = { label: 'defaults' };
const streamsTuned: StreamsTuning = { label: 'tuned', sessionTimeoutMs: 6000, heartbeatIntervalMs: 1500 };

function configurations(quick: boolean): Configuration[] {
  return [
    {
      name: 'sluice, warm standby (defaults)',
      kills: quick ? [2] : [6, 5],
      run: (context, kafka, kills) => sluiceFailoverRun(context, kafka, 'standby', kills),
    },
    {
      name: 'Kafka Streams, 1 standby, tuned (6 s session)',
      kills: quick ? [1] : [3, 2],
      run: (context, kafka, kills) => streamsFailoverRun(context, kafka, streamsTuned, kills),
    },
    {
      name: 'sluice, no standby (slot borrowed)',
      kills: quick ? [1] : [3, 2],
      run: (context, kafka, kills) => sluiceFailoverRun(context, kafka, 'borrowed', kills),
    },
    {
      name: 'Kafka Streams, 1 standby, defaults (45 s session)',
      kills: quick ? [] : [2, 1],
      run: (context, kafka, kills) => streamsFailoverRun(context, kafka, streamsDefaults, kills),
    },
  ];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One configuration's figures: every kill of its runs whose output was right. */
function figures(runs: readonly FailoverRun[]) {
  const good = runs.filter((run) => run.check?.ok);
  const kills = good.flatMap((run) => run.kills.map((kill) => kill.ms));
  const resource = (field: 'peakRssMb' | 'cpuSecondsPerMillion') => {
    const values = good.flatMap((run) => (run.resources ? [run.resources[field]] : []));
    return values.length > 0 ? Math.round(median(values)) : undefined;
  };
  return {
    kills,
    ...summary(kills),
    resources: { peakRssMb: resource('peakRssMb'), cpuSecondsPerMillion: resource('cpuSecondsPerMillion') },
  };
}

export async function failoverWorkload(context: BenchContext): Promise<BenchResult[]> {
  const kafka = createKafkaClient(
    { brokers: context.services.brokers.split(','), clientId: 'bench-failover' },
    silentLogger(),
  );
  await ensurePeerJar(context.log);
  const plan = configurations(context.quick).filter((configuration) => configuration.kills.length > 0);
  const runs = new Map<string, FailoverRun[]>(plan.map((configuration) => [configuration.name, []]));
  const failures: string[] = [];
  const rounds = Math.max(...plan.map((configuration) => configuration.kills.length));
  for (let round = 0; round < rounds; round++) {
    // engines interleaved, the order reversed every other round
    for (const configuration of round % 2 === 0 ? plan : [...plan].reverse()) {
      const kills = configuration.kills[round];
      if (!kills) continue;
      context.log(`failover: round ${round + 1}, ${configuration.name}, ${kills} kill(s)`);
      await context.gate(`failover ${configuration.name}, round ${round + 1}`);
      try {
        runs.get(configuration.name)!.push(await configuration.run(context, kafka, kills));
      } catch (error) {
        // a wrong answer (or a takeover that never came) fails the run: none of its figures count
        const message = `${configuration.name}, round ${round + 1}: ${(error as Error).message}`;
        failures.push(message);
        context.log(`failover: run FAILED: ${message}`);
      }
    }
  }
  return failoverResults(plan, runs, failures, context.quick);
}

function failoverResults(
  plan: readonly Configuration[],
  runs: ReadonlyMap<string, FailoverRun[]>,
  failures: readonly string[],
  quick: boolean,
): BenchResult[] {
  const [standby, tuned, borrowed, defaults] = configurations(false).map(
    (configuration) => configuration.name,
  );
  const of = (name: string) => figures(runs.get(name!) ?? []);
  const ours = of(standby!);
  const notes = plan.map((configuration) => {
    const figure = of(configuration.name);
    return `${configuration.name}: ${figure.runs} kills, ms: ${figure.kills.join(', ')}; median ${seconds(figure.median)}, min–max ${seconds(figure.min)}–${seconds(figure.max)}`;
  });
  const met = (value: number, bound: number) =>
    `${seconds(value)} ≤ ${seconds(bound)}: ${value <= bound ? 'met' : 'NOT met'}`;
  notes.push(
    `goal of issue 11 (sluice, warm standby, defaults): median ${met(ours.median, goal.medianMs)}; worst ${met(ours.max, goal.worstMs)}`,
    `load average (1 min) before each run: ${[...runs.values()]
      .flat()
      .map((run) => `${run.system} ${run.load}`)
      .join('; ')}`,
    'Kafka Streams 4.3.1 runs: tuned = session.timeout.ms 6 000, heartbeat.interval.ms 1 500; exactly_once_v2 with transaction.timeout.ms 10 000 (its default under exactly-once)',
    ...failures.map((failure) => `FAILED run (figures not counted): ${failure}`),
  );
  const details = (name: string) => ({ ...of(name), runs: runs.get(name) ?? [] });
  const results: BenchResult[] = [];
  for (const peer of [defaults!, tuned!]) {
    if (!runs.get(peer)?.length) continue;
    results.push({
      workload: 'failover, warm standby: SIGKILL -> first output (ratio = peer/sluice)',
      unit: 'ms',
      sluice: ours.median,
      peer,
      peerFigure: of(peer).median,
      ratio: comparableRatio(of(peer).median / ours.median, { quick }).ratio,
      resources: { sluice: ours.resources, peer: of(peer).resources },
      details: { sluice: details(standby!), peer: details(peer), goal },
    });
  }
  results.push({
    workload: 'failover, no standby (borrowed): SIGKILL -> first output',
    unit: 'ms',
    sluice: of(borrowed!).median,
    peer: '-',
    peerFigure: Number.NaN,
    ratio: Number.NaN,
    resources: { sluice: of(borrowed!).resources, peer: {} },
    details: { sluice: details(borrowed!) },
    notes,
  });
  return results;
}
