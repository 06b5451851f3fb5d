/**
 * Reads assigned partitions of one topic with no consumer group at all: FETCH requests straight
 * to each partition's leader, from positions this reader owns. The caller (a lease holder, a
 * changelog restorer or tailer) decides which partitions and from where; there is no join, no
 * rebalance delay and no restart logic of kafkajs that could call back after a stop.
 *
 * Each partition has a position and an epoch. `seek` and `remove` bump the epoch, and a FETCH
 * answer is delivered only if the partition's epoch is still the one the request was made with,
 * so nothing fetched before a seek is delivered after it. A partition is fetched again only once
 * its previous batch was handled (one batch in delivery per partition).
 *
 * Retriable failures (leader moves, a broker restarting or down) are logged and retried with
 * backoff, forever: the caller watches `lastFetchAt` to decide whether this instance can reach
 * Kafka. Only what retrying cannot fix (the topic gone, not authorised) reaches `onFatalError`.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.ts';
import type { KafkaHandle } from './client.ts';
import type { ConsumedBatch } from './consumer.ts';
import {
  createCluster,
  type FetchedPartition,
  isolationLevel,
  type KafkaJsCluster,
  keyValueResponses,
  partitionBounds,
  toConsumedBatch,
  toKeyValueBatch,
} from './kafkajs-fetch.ts';
import {
  classifyReadError,
  explainReadError,
  readBackoffMs,
  topicMissingFatalAfterMs,
} from './read-errors.ts';
import type { RawFetchPartition } from './record-batch-decoder.ts';
import type { Isolation } from './types.ts';

export interface PartitionReaderOptions {
  topic: string;
  /** @default 'read_committed' */
  isolation?: Isolation;
  /**
   * Batches carry `keyValues` (views of the fetched bytes) instead of records: for readers that
   * need nothing else (changelog restore), at a fraction of the decoding cost.
   */
  keyValuesOnly?: boolean;
  /** @default 1 MiB */
  maxBytesPerPartition?: number;
  /** @default 100 */
  maxWaitMs?: number;
  /**
   * Batches of one partition are delivered in offset order, one at a time (the next fetch of a
   * partition waits until its onBatch resolved); different partitions may be delivered
   * concurrently. A batch with no records is delivered when the position moved past transaction
   * markers or aborted records. A rejection stops the reader and is passed to onFatalError.
   */
  onBatch(batch: ConsumedBatch): Promise<void>;
  /**
   * Offset out of range (retention/compaction removed it): return the offset to continue from.
   * Throwing stops the reader and is passed to onFatalError.
   * @default log start, with a warning logged
   */
  onOutOfRange?(partition: number, requested: string, logStart: string, logEnd: string): string;
  /** An error reading will not recover from (topic deleted, authorization...). Reading has stopped. */
  onFatalError?(error: unknown): void;
}

export interface PartitionReader {
  /**
   * Reads `partition` from `offset` (adds it if new). The next batch delivered for it starts
   * exactly there; a batch fetched before the seek is never delivered after it.
   */
  seek(partition: number, offset: string): void;
  /**
   * Stops reading `partition`; once the returned promise resolves no batch of it is delivered.
   * It waits for the partition's running onBatch, so an onBatch must not await it for its own partition.
   */
  remove(partition: number): Promise<void>;
  partitions(): number[];
  /**
   * performance.now() of the last successful fetch response (empty ones count): proof that this
   * instance can reach Kafka, for the lease's progress check. undefined before the first. With
   * no partition to read nothing is fetched, so it does not move.
   */
  lastFetchAt(): number | undefined;
  /**
   * Final and bounded in time (it does not wait on a broker that does not answer beyond ~1 s):
   * after it resolves onBatch/onFatalError are never called again, whatever is in flight. It
   * waits for an onBatch already running.
   */
  stop(): Promise<void>;
}

interface PartitionState {
  /** The next offset to fetch. */
  position: string;
  /** Bumped by seek and remove: answers to requests of an older epoch are dropped. */
  epoch: number;
  fetching: boolean;
  delivering: Promise<void> | undefined;
}

/** One partition of a FETCH request in flight, with the epoch its answer must still match. */
interface PendingFetch {
  partition: number;
  fetchOffset: string;
  epoch: number;
  partitionState: PartitionState;
}

/** A FETCH answer's size bound over all its partitions (the Java client's fetch.max.bytes). */
const maxBytesPerFetch = 50 * 1024 * 1024;

/** How long stop() gives the broker connections to close before it lets them go. */
const disconnectBoundMs = 1000;

type ReaderState = 'running' | 'stopped';

export function createPartitionReader(handle: KafkaHandle, options: PartitionReaderOptions): PartitionReader {
  const { topic } = options;
  const logger = handle.logger.child({ component: 'partition-reader', topic });
  const isolation = options.isolation ?? 'read_committed';
  const maxBytesPerPartition = options.maxBytesPerPartition ?? 1024 * 1024;
  const maxWaitMs = options.maxWaitMs ?? 100;
  const cluster: KafkaJsCluster = createCluster(handle.kafka, isolation);
  const partitions = new Map<number, PartitionState>();

  let state: ReaderState = 'running';
  /** Aborted by stop(): ends the backoff sleeps at once. */
  const stopped = new AbortController();
  let lastFetch: number | undefined;
  let metadataLoaded = false;
  let metadataStale = false;
  let metadataFailures = 0;
  let topicMissingSince: number | undefined;
  /** Per leader: consecutive failures and the time before which it is not asked again. */
  const leaderBackoff = new Map<string, { failures: number; until: number }>();
  const fetchingLeaders = new Set<string>();

  // the loop sleeps on `wakeUp`; anything that may let it fetch more resolves it
  let wake: () => void = () => undefined;
  let wakeUp = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = () => wake();
  const nextWake = () => {
    wakeUp = new Promise<void>((resolve) => {
      wake = resolve;
    });
  };

  /** Stops reading for good; the caller's own failure is passed on as it is, a Kafka one explained. */
  const fail = (error: unknown, source: 'kafka' | 'caller' = 'kafka') => {
    if (state !== 'running') return;
    const reported = source === 'caller' ? error : explainReadError(error, topic);
    logger.error({ err: error }, `reading ${topic} stopped: ${describeError(reported)}`);
    void reader.stop();
    options.onFatalError?.(reported);
  };

  async function loadMetadata(): Promise<void> {
    await cluster.connect();
    if (!metadataLoaded) {
      await cluster.addTargetTopic(topic);
      metadataLoaded = true;
      metadataStale = false;
    } else if (metadataStale) {
      await cluster.refreshMetadata();
      metadataStale = false;
    }
    if (cluster.findTopicPartitionMetadata(topic).length === 0) {
      throw Object.assign(new Error(`topic ${topic} is not in the cluster's metadata`), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      });
    }
    topicMissingSince = undefined;
  }

  /** Partitions that may be fetched now, grouped per leader, and those whose leader is unknown. */
  function leadersOfReadyPartitions(now: number): { byLeader: Map<string, number[]>; leaderless: number[] } {
    const metadata = new Map(
      cluster.findTopicPartitionMetadata(topic).map((entry) => [entry.partitionId, entry]),
    );
    const byLeader = new Map<string, number[]>();
    const leaderless: number[] = [];
    for (const [partition, partitionState] of partitions) {
      if (partitionState.fetching || partitionState.delivering) continue;
      const leader = metadata.get(partition)?.leader;
      if (leader === undefined || leader === null || leader < 0) {
        leaderless.push(partition);
        continue;
      }
      const nodeId = String(leader);
      if (fetchingLeaders.has(nodeId) || (leaderBackoff.get(nodeId)?.until ?? 0) > now) continue;
      byLeader.set(nodeId, [...(byLeader.get(nodeId) ?? []), partition]);
    }
    return { byLeader, leaderless };
  }

  async function fetchFrom(nodeId: string, fetched: number[]): Promise<void> {
    const requests = fetched.map((partition): PendingFetch => {
      const partitionState = partitions.get(partition) as PartitionState;
      partitionState.fetching = true;
      return { partition, fetchOffset: partitionState.position, epoch: partitionState.epoch, partitionState };
    });
    fetchingLeaders.add(nodeId);
    try {
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        isolationLevel: isolationLevel(isolation),
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: Math.min(maxBytesPerPartition * requests.length, maxBytesPerFetch),
        ...(options.keyValuesOnly ? { decodeResponse: keyValueResponses } : {}),
        topics: [
          {
            topic,
            partitions: requests.map(({ partition, fetchOffset }) => ({
              partition,
              fetchOffset,
              maxBytes: maxBytesPerPartition,
            })),
          },
        ],
      });
      if (state !== 'running') return;
      lastFetch = performance.now();
      const failures = leaderBackoff.get(nodeId)?.failures;
      if (failures !== undefined) {
        logger.info({ broker: nodeId, failures }, `fetching ${topic} from broker ${nodeId} works again`);
        leaderBackoff.delete(nodeId);
      }
      const answers = new Map<number, FetchedPartition | RawFetchPartition>();
      for (const response of responses) {
        if (response.topicName !== topic) continue;
        for (const answer of response.partitions) answers.set(answer.partition, answer);
      }
      for (const request of requests) {
        const answer = answers.get(request.partition);
        // a seek or remove since the request was sent: its answer is stale
        if (!answer || partitions.get(request.partition) !== request.partitionState) continue;
        if (request.partitionState.epoch !== request.epoch) continue;
        const batch = options.keyValuesOnly
          ? await toKeyValueBatch(topic, request.fetchOffset, answer)
          : toConsumedBatch(topic, request.fetchOffset, answer as FetchedPartition);
        // decoding kafkajs' way may yield: a stop, seek or remove meanwhile makes the answer stale
        if (!batch || state !== 'running' || partitions.get(request.partition) !== request.partitionState)
          continue;
        if (request.partitionState.epoch !== request.epoch) continue;
        deliver(request.partitionState, batch);
      }
    } catch (error) {
      if (state !== 'running') return;
      await recover(nodeId, error, requests);
    } finally {
      fetchingLeaders.delete(nodeId);
      for (const { partitionState } of requests) partitionState.fetching = false;
      notify();
    }
  }

  function deliver(partitionState: PartitionState, batch: ConsumedBatch): void {
    // an onBatch that threw synchronously for a partition before this one stopped the reader
    if (state !== 'running') return;
    partitionState.position = batch.nextOffset;
    partitionState.delivering = (async () => {
      try {
        await options.onBatch(batch);
      } catch (error) {
        fail(error, 'caller');
      } finally {
        partitionState.delivering = undefined;
        notify();
      }
    })();
  }

  async function recover(nodeId: string, error: unknown, requests: PendingFetch[]): Promise<void> {
    const kind = classifyReadError(error);
    if (kind === 'out-of-range') {
      const partition = (error as { partition?: number }).partition;
      const request = requests.find((candidate) => candidate.partition === partition);
      if (request) {
        await resolveOutOfRange(request).catch((failure) => backOff(nodeId, failure));
        return;
      }
    }
    if (kind === 'fatal') {
      fail(error);
      return;
    }
    metadataStale = true;
    backOff(nodeId, error);
  }

  function backOff(nodeId: string, error: unknown): void {
    const failures = (leaderBackoff.get(nodeId)?.failures ?? 0) + 1;
    const delay = readBackoffMs(failures);
    leaderBackoff.set(nodeId, { failures, until: performance.now() + delay });
    logger.warn(
      { broker: nodeId, failures, retryInMs: delay },
      `fetching ${topic} from broker ${nodeId} failed, retrying: ${describeError(error)}`,
    );
    setTimeout(notify, delay).unref();
  }

  async function resolveOutOfRange(request: PendingFetch): Promise<void> {
    const { partition, fetchOffset } = request;
    const { logStart, logEnd } = await partitionBounds(cluster, topic, partition);
    if (state !== 'running' || request.partitionState.epoch !== request.epoch) return;
    let next: string;
    if (options.onOutOfRange) {
      try {
        next = options.onOutOfRange(partition, fetchOffset, logStart, logEnd);
      } catch (error) {
        fail(error, 'caller');
        return;
      }
    } else {
      logger.warn(
        { partition, requested: fetchOffset, logStart, logEnd },
        `offset ${fetchOffset} of ${topic}/${partition} is out of range (log ${logStart}..${logEnd}): reading from the log start`,
      );
      next = logStart;
    }
    if (request.partitionState.epoch === request.epoch) request.partitionState.position = next;
  }

  async function run(): Promise<void> {
    while (state === 'running') {
      // a notify() from here on ends the wait at the bottom of this turn
      nextWake();
      if (partitions.size === 0) {
        await wakeUp;
        continue;
      }
      try {
        if (!metadataLoaded || metadataStale) await loadMetadata();
        metadataFailures = 0;
      } catch (error) {
        if (state !== 'running') break;
        if (classifyReadError(error) === 'fatal') {
          fail(error);
          break;
        }
        if (classifyReadError(error) === 'topic-missing') {
          topicMissingSince ??= performance.now();
          if (performance.now() - topicMissingSince > topicMissingFatalAfterMs) {
            fail(error);
            break;
          }
        }
        metadataFailures++;
        const delay = readBackoffMs(metadataFailures);
        logger.warn(
          { failures: metadataFailures, retryInMs: delay },
          `reading the metadata of ${topic} failed, retrying: ${describeError(error)}`,
        );
        await sleep(delay, undefined, { signal: stopped.signal }).catch(() => undefined);
        continue;
      }
      const { byLeader, leaderless } = leadersOfReadyPartitions(performance.now());
      for (const [nodeId, ready] of byLeader) void fetchFrom(nodeId, ready);
      if (leaderless.length > 0) {
        // a leader election in progress: ask for the metadata again after a while
        metadataStale = true;
        metadataFailures++;
        const delay = readBackoffMs(metadataFailures);
        logger.warn(
          { partitions: leaderless, retryInMs: delay },
          `partitions of ${topic} have no leader in the metadata, retrying`,
        );
        setTimeout(notify, delay).unref();
      }
      await wakeUp;
    }
    await cluster.disconnect().catch(() => undefined);
  }

  let stopping: Promise<void> | undefined;
  const reader: PartitionReader = {
    seek(partition, offset) {
      if (state !== 'running') return;
      if (!/^\d+$/.test(offset)) {
        throw new TypeError(
          `seek(${partition}, ${JSON.stringify(offset)}): an offset is a non-negative integer`,
        );
      }
      const current = partitions.get(partition);
      if (current) {
        current.epoch++;
        current.position = offset;
      } else {
        partitions.set(partition, { position: offset, epoch: 0, fetching: false, delivering: undefined });
      }
      notify();
    },
    async remove(partition) {
      const current = partitions.get(partition);
      if (!current) return;
      current.epoch++;
      partitions.delete(partition);
      notify();
      await current.delivering;
    },
    partitions: () => [...partitions.keys()].sort((a, b) => a - b),
    lastFetchAt: () => lastFetch,
    stop() {
      stopping ??= (async () => {
        state = 'stopped';
        stopped.abort();
        notify();
        // onBatch already running is the caller's own work (e.g. a store write): let it finish
        await Promise.all([...partitions.values()].map((partitionState) => partitionState.delivering));
        partitions.clear();
        await Promise.race([cluster.disconnect().catch(() => undefined), sleep(disconnectBoundMs)]);
      })();
      return stopping;
    },
  };

  void run().catch(fail);
  return reader;
}
