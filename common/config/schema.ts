/**
 * The one declaration of sluice's configuration: every setting, its default and what it means.
 * Router and processor read the same file format (YAML or JSON); the Helm chart renders it.
 * Precedence: these defaults → the config file → environment variables (env.ts) → CLI flags.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

/** Client-side TLS: whom to trust (`ca`) and, for mutual TLS, who we are (`cert` + `key`). */
const tlsSection = z
  .object({
    /** @default false, or true when any file below is set */
    enabled: z.boolean().optional(),
    /** CA bundle (PEM) that signed the server's certificate. @default the system's CAs */
    ca: z.string().min(1).optional(),
    /** Client certificate (PEM) for mutual TLS; needs `key`. */
    cert: z.string().min(1).optional(),
    /** The client certificate's private key (PEM, unencrypted). */
    key: z.string().min(1).optional(),
    /** Refuse servers whose certificate does not verify; turn off only against a test server. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), {
    message: 'cert and key go together (mutual TLS needs both)',
  });

/** A server's own certificate and key (PEM files), for HTTPS. */
const serverTlsSection = z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict();

export type TlsSettings = z.infer<typeof tlsSection>;

export const kafkaSection = z
  .object({
    /** @default ['127.0.0.1:19092'] (the local dev broker) */
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port'))
      .min(1)
      .default(['127.0.0.1:19092']),
    clientId: z.string().min(1).default('sluice'),
    /** @deprecated the earlier switch, the same as `tls.enabled` */
    ssl: z.boolean().optional(),
    /** TLS to the brokers; setting any file turns it on. Files are PEM, relative to the config file. */
    tls: tlsSection.prefault({}),
    /** SASL over the connection (use with TLS). The password comes from `passwordFile` or $SLUICE_KAFKA_SASL_PASSWORD; inline works but keeps a secret in the file. */
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string().min(1).optional(),
        passwordFile: z.string().min(1).optional(),
      })
      .strict()
      .refine((sasl) => (sasl.password === undefined) !== (sasl.passwordFile === undefined), {
        message: 'set exactly one of password (or $SLUICE_KAFKA_SASL_PASSWORD) and passwordFile',
      })
      .optional(),
    /** Replication factor of the topics sluice creates; use 3 (with min.insync.replicas 2) in production. */
    replicationFactor: positiveInt.default(1),
  })
  .strict();

export const streamSection = z
  .object({
    topic: z.string().min(1),
    /** Avro schema file (.avsc), relative to the config file. */
    schema: z.string().min(1),
    /** A string field of the schema; the Kafka key, so one tenant stays on one partition. */
    partitionKey: z.string().min(1),
    /** A long field of the schema: event time in milliseconds since the epoch (needed on an app's source). */
    eventTime: z.string().min(1).optional(),
    /** Partitions when sluice creates the topic. @default 6 */
    partitions: positiveInt.default(6),
    /**
     * A table (apps join with it): the latest record per key is a row, a null value deletes it;
     * sluice creates its topic compacted. @default false
     */
    table: z.boolean().default(false),
  })
  .strict();

export const routerSection = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: port.default(8080),
    /** Largest request body; below Kafka's default 1 MiB message limit per event. @default 1 MiB */
    maxBodyBytes: positiveInt.default(1024 * 1024),
    maxEventsPerRequest: positiveInt.default(10_000),
    batch: z
      .object({
        /** A produce batch closes at this many records... */
        maxRecords: positiveInt.default(5000),
        /** ...or this many bytes... */
        maxBytes: positiveInt.default(4 * 1024 * 1024),
        /** ...or after this long, whichever comes first. */
        lingerMs: z.number().int().min(0).default(2),
      })
      .strict()
      .prefault({}),
    /**
     * Worker processes serving the port side by side (node:cluster), each with its own producers;
     * the primary restarts one that dies and holds the rate limits, so they stay exact. 1 serves
     * in the one process. @default 1 (measured: no gain on 2 cores shared with the client and
     * broker, ~20 % more CPU per event; set it to the cores on a machine of its own)
     */
    workers: positiveInt.default(1),
    /** Producers sending batches side by side, per worker (each has one batch in flight). */
    producers: positiveInt.default(1),
    /** Bytes accepted but not yet acknowledged by Kafka; past this, requests get 503. @default 64 MiB */
    maxInFlightBytes: positiveInt.default(64 * 1024 * 1024),
    /**
     * The most a request waits for Kafka's acknowledgement from its arrival, queueing and retries
     * included; then it gets 503 (its events may still be written: retry with the same event ids).
     */
    sendTimeoutMs: positiveInt.default(10_000),
    /** A request whose headers and body have not all arrived by then gets 408 (a slow or stuck client). */
    requestTimeoutMs: positiveInt.default(60_000),
    /** Serve HTTPS with this certificate and key. */
    tls: serverTlsSection.optional(),
    /** Register the streams' schemas at start. */
    registerSchemas: z.boolean().default(true),
    auth: z
      .object({
        /** On by default; the dev stack switches it off. */
        enabled: z.boolean().default(true),
        /** YAML file of API keys (hashed): `sluice keys create` writes entries. */
        keysFile: z.string().optional(),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        /** Per tenant and router instance; 0 turns the limit off. */
        eventsPerSecond: z.number().min(0).default(5000),
        burst: z.number().min(0).default(10_000),
        /** Per-tenant overrides. */
        tenants: z
          .record(
            z.string(),
            z.object({ eventsPerSecond: z.number().min(0), burst: z.number().min(0) }).strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const processorSection = z
  .object({
    /** The app module (TypeScript or JavaScript) exporting `defineApp(...)` as default. */
    app: z.string().optional(),
    /** Runs the app under another id (its own group, changelogs, dead letters): e.g. staging. */
    appId: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,62}$/)
      .optional(),
    /** Local RocksDB state: <stateDir>/<app>/<store>/<partition>. A cache of the changelogs. */
    stateDir: z.string().default('.sluice/state'),
    /** exactly_once (transactions) or at_least_once (faster; after a crash, records since the last commit count twice). */
    guarantee: z.enum(['exactly_once', 'at_least_once']).default('exactly_once'),
    /** How often each partition commits. @default 100 under exactly_once, 1000 under at_least_once */
    commitIntervalMs: positiveInt.optional(),
    /**
     * When an input partition's committed offset is gone (retention removed the records while the
     * app was stopped): `earliest` continues from the log start with a warning, a metric
     * (sluice_processor_input_offset_resets_total) and a line in the status; `fail` stops the
     * instance (exit 1) so that an operator decides (sluice reset).
     */
    offsetReset: z.enum(['earliest', 'fail']).default('earliest'),
    /** How many partitions' batches are processed at once. */
    partitionsInParallel: positiveInt.default(6),
    /**
     * Worker threads the instance spreads its tasks over, each with its own Kafka clients and
     * stores (the main thread keeps the lease, the HTTP port and Postgres); 1 runs every task on
     * the main thread. @default the cores available (os.availableParallelism())
     */
    workers: positiveInt.optional(),
    /**
     * Partition counts of repartition topics by repartition name (an aggregation's store name, or
     * `repartition({ name })`), overriding the app's; a repartition not named keeps the app's
     * count, or the input's. Checked at start against an existing topic.
     */
    repartitionPartitions: z.record(z.string(), positiveInt).default({}),
    /** Aggregates kept in memory per partition before clean ones are evicted. */
    cacheMaxEntries: positiveInt.default(200_000),
    /** Without a cluster only: the consumer group's session timeout, how long a dead instance keeps its partitions (6 s is Kafka's minimum by default). */
    sessionTimeoutMs: positiveInt.default(6000),
    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(9090),
        /** Serve HTTPS with this certificate and key. */
        tls: serverTlsSection.optional(),
        auth: z
          .object({
            /** Off by default (the port then belongs on the cluster network only); on: every state query needs an API key. */
            enabled: z.boolean().default(false),
            /** The same keys file format as the routers' (often the same file). @default router.auth.keysFile */
            keysFile: z.string().optional(),
            /** /healthz, /readyz and /metrics without a key, for probes and scrapes. */
            openProbes: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/**
 * High availability, keeping the seed's names (WSO2 cluster.config): processor slots, each with an
 * active and standbys elected through PostgreSQL heartbeats. Lease TTL = heartbeatInterval ×
 * heartbeatMaxRetry; the defaults (500 ms × 4) detect a dead active in 2 s (the seed: 5000 × 5 = 25 s).
 */
export const clusterSection = z
  .object({
    enabled: z.boolean().default(false),
    /** The seed's cluster group id: when set, the app runs under this id (consumer group, leases). */
    groupId: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,62}$/)
      .optional(),
    /** Number of slots S; input partition p belongs to slot p mod S. */
    slots: positiveInt.default(1),
    /** This instance's slot, or 'auto': the ordinal at the end of the host name (StatefulSet pods) mod S. */
    slot: z.union([z.number().int().min(0), z.literal('auto')]).default('auto'),
    /** How often the active renews its lease (ms); every lease query must answer within 80 % of it. */
    heartbeatInterval: positiveInt.min(50).default(500),
    /** Renewals that may be missed before the lease expires (TTL = heartbeatInterval × heartbeatMaxRetry). */
    heartbeatMaxRetry: positiveInt.min(2).default(4),
    /** How often a standby checks whether the lease is free (ms); a release also notifies it at once. */
    eventPollingInterval: positiveInt.default(250),
    /**
     * How long a slot's lease must have been free, beyond the TTL, before an active of another slot
     * borrows it (processes the slot's partitions until an instance of that slot starts). @default the TTL
     */
    takeoverDelay: z.number().int().min(0).optional(),
    /**
     * An active that has made no progress for this long (no fetch answered by Kafka, or tasks that
     * keep failing) hands its lease to a standby that can reach Kafka. @default 2000
     */
    progressTimeout: positiveInt.default(2000),
    /** The address other instances and `sluice status` use for this one. @default http://<hostname>:<http port> */
    advertisedAddress: z.string().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    kafka: kafkaSection.prefault({}),
    registry: z
      .object({
        url: z.url().default('http://127.0.0.1:18081/apis/ccompat/v7'),
        /** Registries with authentication (Confluent Cloud, Apicurio behind auth): basic or bearer. */
        auth: z
          .discriminatedUnion('type', [
            z
              .object({
                type: z.literal('basic'),
                username: z.string().min(1),
                /** Or $SLUICE_REGISTRY_PASSWORD. */
                password: z.string().min(1).optional(),
                passwordFile: z.string().min(1).optional(),
              })
              .strict()
              .refine((auth) => (auth.password === undefined) !== (auth.passwordFile === undefined), {
                message: 'set exactly one of password (or $SLUICE_REGISTRY_PASSWORD) and passwordFile',
              }),
            z
              .object({
                type: z.literal('bearer'),
                /** Or $SLUICE_REGISTRY_TOKEN. */
                token: z.string().min(1).optional(),
                tokenFile: z.string().min(1).optional(),
              })
              .strict()
              .refine((auth) => (auth.token === undefined) !== (auth.tokenFile === undefined), {
                message: 'set exactly one of token (or $SLUICE_REGISTRY_TOKEN) and tokenFile',
              }),
          ])
          .optional(),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** The password may be in the URL, in `passwordFile`, or in $PGPASSWORD. */
        url: z.string().default('postgres://postgres@127.0.0.1:15432/sluice'),
        passwordFile: z.string().min(1).optional(),
        /** TLS to PostgreSQL (also possible with `?sslmode=` in the URL). */
        tls: tlsSection.prefault({}),
        /** Where sluice's tables live (created and migrated at start). */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/)
          .default('sluice'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    streams: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), streamSection).default({}),
    router: routerSection.prefault({}),
    processor: processorSection.prefault({}),
    cluster: clusterSection.prefault({}),
  })
  .strict();

export type SluiceConfig = z.infer<typeof configSchema>;
export type StreamConfig = z.infer<typeof streamSection>;
export type RouterConfig = z.infer<typeof routerSection>;
export type ProcessorConfig = z.infer<typeof processorSection>;
export type ClusterConfig = z.infer<typeof clusterSection>;
