/**
 * The primary process of a router with several workers (node:cluster, which hands the listening
 * socket's connections to the workers in turn). It serves no HTTP itself; it owns what must be one
 * for the instance: the rate-limit buckets (answered over IPC, cluster/shared-rate-limit.ts) and
 * the /metrics aggregate (prom-client's AggregatorRegistry: counters and histograms summed, so
 * one scrape is one consistent set). A worker that dies is logged and replaced, with a backoff
 * when replacements keep dying young; a worker exiting with `fatalExitCode` (the registry refused
 * a schema), or one of the first workers failing to start, stops the instance instead: no restart
 * fixes configuration. Stopping orders every worker to drain and waits for all of them.
 *
 * starting (first workers not all ready) → running → stopping → stopped.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { LoadedConfig } from '../../common/config/load.ts';
import type { Logger } from '../../common/log.ts';
import { createStateMachine, type Transitions } from '../../common/state-machine.ts';
import { createRateLimiter } from '../rate-limit.ts';
import { isSluiceMessage, type PrimaryMessage, type WorkerMessage } from './ipc.ts';
import { takeForWorker } from './shared-rate-limit.ts';
import { fatalExitCode } from './worker.ts';

type SupervisorState = 'starting' | 'running' | 'stopping' | 'stopped';
const transitions: Transitions<SupervisorState> = {
  starting: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

/** A replacement that lived less than this counts as dying young: the next one waits longer. */
const youngMs = 10_000;
const backoff = { baseMs: 250, capMs: 10_000 };

export interface RouterPrimary {
  /** Orders every worker to drain, resolves once all exited; rejects if one did not exit cleanly. */
  stop(): Promise<void>;
}

export function runRouterPrimary(
  loaded: LoadedConfig,
  logger: Logger,
  workerCount: number,
  options: { onFatalError(error: Error): void },
): Promise<RouterPrimary> {
  const machine = createStateMachine<SupervisorState>('router primary', transitions, 'starting');
  const limiter = createRateLimiter(loaded.config.router.rateLimit);
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  own.setDefaultLabels({ part: 'router' });
  const restarts = new Counter({
    name: 'sluice_router_worker_restarts_total',
    help: 'Router workers that died and were replaced',
    registers: [own],
  });
  const born = new Map<number, number>();
  let youngDeaths = 0;
  let failedExits = 0;
  const stopped: ((error?: Error) => void)[] = [];

  const fork = () => born.set(cluster.fork().id, performance.now());
  const answer = (worker: Worker, message: PrimaryMessage) => {
    if (worker.isConnected()) worker.send(message);
  };

  return new Promise((resolve) => {
    const finishIfAllExited = () => {
      if (machine.state === 'stopping' && born.size === 0) machine.to('stopped');
      if (machine.state !== 'stopped') return;
      for (const done of stopped.splice(0))
        done(failedExits === 0 ? undefined : new Error(`${failedExits} worker(s) did not stop cleanly`));
    };
    const primary: RouterPrimary = {
      stop() {
        if (machine.state === 'starting' || machine.state === 'running') {
          machine.to('stopping');
          logger.info({ workers: born.size }, 'stopping: workers drain');
          for (const worker of Object.values(cluster.workers ?? {})) answer(worker!, { sluice: 'stop' });
        }
        const result = new Promise<void>((done, failed) =>
          stopped.push((error) => (error ? failed(error) : done())),
        );
        finishIfAllExited();
        return result;
      },
    };
    const ready = new Set<number>();

    cluster.on('message', (worker, message: unknown) => {
      if (!isSluiceMessage<WorkerMessage>(message)) return; // prom-client's own answers
      if (message.sluice === 'rate-limit') {
        answer(worker, {
          sluice: 'answer',
          id: message.id,
          refused: takeForWorker(limiter, message.perTenant),
        });
      } else if (message.sluice === 'metrics') {
        Promise.all([aggregator.clusterMetrics(), own.metrics()]).then(
          ([workers, primaryText]) =>
            answer(worker, { sluice: 'answer', id: message.id, text: workers + primaryText }),
          async (error) => {
            // a worker starting or dying does not answer: the primary's own metrics at least
            logger.warn({ err: error }, 'metrics of the workers could not be gathered');
            answer(worker, { sluice: 'answer', id: message.id, text: await own.metrics() });
          },
        );
      } else if (message.sluice === 'ready') {
        ready.add(worker.id);
        if (machine.state === 'starting' && ready.size >= workerCount) {
          machine.to('running');
          logger.info({ address: message.address, workers: workerCount }, 'router workers all listening');
          resolve(primary);
        }
      }
    });

    cluster.on('exit', (worker, code, signal) => {
      const lived = performance.now() - (born.get(worker.id) ?? 0);
      born.delete(worker.id);
      if (machine.state === 'stopping') {
        if (code !== 0) failedExits++;
        logger.info({ worker: worker.process.pid, code, signal }, 'worker stopped');
        finishIfAllExited();
        return;
      }
      const firstStart = machine.state === 'starting' && !ready.has(worker.id);
      if (code === fatalExitCode || firstStart) {
        const error = new Error(
          code === fatalExitCode
            ? 'a router worker stopped on a configuration error (see its log)'
            : `a router worker failed to start (exit code ${code}, signal ${signal}; see its log)`,
        );
        void primary
          .stop()
          .catch(() => undefined)
          .then(() => options.onFatalError(error));
        return;
      }
      youngDeaths = lived < youngMs ? youngDeaths + 1 : 0;
      const delayMs =
        youngDeaths === 0 ? 0 : Math.min(backoff.capMs, backoff.baseMs * 2 ** (youngDeaths - 1));
      restarts.inc();
      logger.error(
        { worker: worker.process.pid, code, signal, livedMs: Math.round(lived), restartInMs: delayMs },
        'router worker died: starting another',
      );
      setTimeout(() => {
        if (machine.state === 'running' || machine.state === 'starting') fork();
      }, delayMs);
    });

    logger.info({ workers: workerCount }, 'starting router workers');
    for (let i = 0; i < workerCount; i++) fork();
  });
}
