/**
 * Wires a router instance: config, streams and their schemas (registered, BACKWARD; waited for
 * while the registry does not answer, see schema-ids.ts), topics, the Kafka producer and
 * publisher, auth, rate limits, metrics; the only place that builds these.
 */

import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { systemClock } from '../common/clock.ts';
import { kafkaConnectionOf } from '../common/config/connections.ts';
import type { LoadedConfig } from '../common/config/load.ts';
import { createKafkaClient } from '../common/kafka/index.ts';
import type { Logger } from '../common/log.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { createSchemaRegistryClient } from '../schemas/registry.ts';
import { createSerde } from '../schemas/serde.ts';
import { loadStreams } from '../schemas/streams.ts';
import { createAuthenticator } from './auth.ts';
import type { StreamEncoding } from './event-records.ts';
import { createRouterMetrics } from './metrics.ts';
import { createPublisher } from './publisher.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';
import { resolveSchemaIds, type SchemaIds } from './schema-ids.ts';
import { buildRouterServer } from './server.ts';

export interface RunningRouter {
  app: FastifyInstance;
  address: string;
  /** Stops accepting, lets in-flight requests and batches finish, disconnects. */
  stop(): Promise<void>;
}

export interface RouterOptions {
  /**
   * The registry, back after an outage, refused a stream's schema (incompatible, or our
   * credentials): no retry fixes that, the instance should stop and say so.
   */
  onFatalError(error: unknown): void;
  /** Set when this router is one worker of several (cluster/worker.ts): what the primary owns. */
  worker?: WorkerHooks;
}

export interface WorkerHooks {
  /** Rate limits held by the primary, exact across workers. */
  rateLimiter: RateLimiter;
  /** Makes this worker's metrics part of the primary's aggregate. */
  shareMetrics(registry: Registry): void;
  /** The text of /metrics: all workers' metrics, aggregated by the primary. */
  metricsText(): Promise<string>;
}

export async function startRouter(
  loaded: LoadedConfig,
  logger: Logger,
  options: RouterOptions,
): Promise<RunningRouter> {
  const { config } = loaded;
  const settings = config.router;
  const streams = loadStreams(config.streams, loaded.baseDir);
  const authenticator = settings.auth.enabled
    ? createAuthenticator(resolve(loaded.baseDir, settings.auth.keysFile ?? 'api-keys.yaml'), { logger })
    : undefined;

  const registry = createSchemaRegistryClient(config.registry.url, loaded.secrets.registryAuthorization);
  const serde = createSerde(config.registry.url, { authorization: loaded.secrets.registryAuthorization });
  const kafka = createKafkaClient(kafkaConnectionOf(loaded, `${config.kafka.clientId}-router`), logger);
  const admin = await kafka.connectAdmin();
  const producers = await Promise.all(
    Array.from({ length: settings.producers }, () =>
      kafka.createProducer({ sendTimeoutMs: settings.sendTimeoutMs }),
    ),
  );
  const encodings = new Map<string, StreamEncoding>();
  let schemaIds: SchemaIds | undefined;
  try {
    await admin.ensureTopics(
      [...streams.values()].map((stream) => ({
        topic: stream.topic,
        partitions: stream.partitions,
        replicationFactor: config.kafka.replicationFactor,
      })),
    );
    // registered at start so that an incompatible change stops the router with the registry's reason
    const ids = await resolveSchemaIds(
      [...streams.keys()],
      (name) => {
        const stream = streams.get(name)!;
        return settings.registerSchemas
          ? registry.register(stream.subject, stream.schema)
          : registry.latestId(stream.subject);
      },
      { registryUrl: config.registry.url, clock: systemClock, logger, onFatalError: options.onFatalError },
    );
    schemaIds = ids;
    for (const stream of streams.values()) {
      let partitions = (await admin.partitionCount(stream.topic))!;
      const refresh = setInterval(() => {
        admin.partitionCount(stream.topic).then(
          (count) => {
            if (count) partitions = count;
          },
          () => undefined,
        );
      }, 30_000);
      refresh.unref();
      let encode: ((value: unknown) => Buffer) | undefined;
      encodings.set(stream.name, {
        stream,
        // built once the id is known; until then idOf refuses the request with 503
        encode: (value) => {
          encode ??= serde.encoderFor(ids.idOf(stream.name), stream.type);
          return encode(value);
        },
        partitions: () => partitions,
      });
    }
  } catch (error) {
    schemaIds?.stop();
    await Promise.all(producers.map((producer) => producer.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
    throw error;
  }

  const metricsRegistry = createMetricsRegistry({ part: 'router' });
  let metrics: ReturnType<typeof createRouterMetrics> | undefined;
  const publisher = createPublisher(producers, {
    ...settings.batch,
    maxInFlightBytes: settings.maxInFlightBytes,
    deadlineMs: settings.sendTimeoutMs,
    onBatch: (records, seconds) => {
      metrics?.batchRecords.observe(records);
      metrics?.produceSeconds.observe(seconds);
    },
  });
  metrics = createRouterMetrics(metricsRegistry, () => publisher.inFlightBytes());
  options.worker?.shareMetrics(metricsRegistry);

  let readiness: { at: number; reason: string | undefined } | undefined;
  const app = buildRouterServer({
    settings,
    streams: encodings,
    publisher,
    authenticator,
    https: loaded.secrets.routerHttps,
    rateLimiter: options.worker?.rateLimiter ?? createRateLimiter(settings.rateLimit),
    metrics,
    metricsRegistry,
    metricsText: options.worker?.metricsText,
    logger,
    async notReadyReason() {
      const waiting = schemaIds?.waitingReason();
      if (waiting) return waiting;
      if (readiness && Date.now() - readiness.at < 1000) return readiness.reason;
      const [kafkaUp, registryUp] = await Promise.all([admin.isReachable(2000), registry.isReachable()]);
      const reason = !kafkaUp
        ? 'Kafka does not answer'
        : !registryUp
          ? 'the schema registry does not answer'
          : undefined;
      readiness = { at: Date.now(), reason };
      return reason;
    },
  });
  const address = await app.listen({ host: settings.host, port: settings.port });
  logger.info({ address, streams: [...encodings.keys()], auth: Boolean(authenticator) }, 'router listening');

  return {
    app,
    address,
    async stop() {
      schemaIds?.stop();
      await app.close();
      authenticator?.close();
      await publisher.drain();
      await Promise.all(producers.map((producer) => producer.disconnect()));
      await admin.disconnect();
    },
  };
}
