/**
 * A single-node Apache Kafka (KRaft, combined broker + controller) run from the Maven Central
 * jars with `java`, on loopback. Tests that restart the broker start a private one of these.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../common/errors.ts';
import { findJava } from './java.ts';
import { copyDependencies } from './maven.ts';
import {
  isAlive,
  isPortOpen,
  logTail,
  readPid,
  removeFile,
  runCommand,
  spawnDetached,
  stopProcess,
  waitUntil,
} from './processes.ts';
import type { DevService, ServiceStatus } from './service.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface KafkaServiceOptions {
  version: string;
  port: number;
  controllerPort: number;
  cacheDir: string;
  /** This broker's own directory: data, log, pid. */
  dir: string;
  /** Extra broker properties (tests use this for small segment sizes and the like). */
  properties?: Record<string, string>;
  /** Extra arguments of the storage format, e.g. `--add-scram` to create SCRAM users before the start. */
  formatArguments?: readonly string[];
}

/** Broker settings for one node; replication 1 everywhere and no rebalance delay, for fast tests. */
function serverProperties(options: KafkaServiceOptions): string {
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${options.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(options.dir, 'data'),
    'num.partitions': '1',
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    // a killed consumer's partitions move within seconds; kafkajs asks for its own session timeout
    'group.min.session.timeout.ms': '1000',
    ...options.properties,
  };
  return `${Object.entries(base)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

export function createKafkaService(options: KafkaServiceOptions): DevService {
  const libsDir = join(options.cacheDir, `kafka-${options.version}`, 'libs');
  const installedMarker = join(libsDir, '.complete');
  const propertiesFile = join(options.dir, 'server.properties');
  const logFile = join(options.dir, 'kafka.log');
  const pidFile = join(options.dir, 'kafka.pid');
  const endpoint = `127.0.0.1:${options.port}`;
  const classpath = `${libsDir}/*`;

  const runningPid = () => {
    const pid = readPid(pidFile);
    return pid !== undefined && isAlive(pid) ? pid : undefined;
  };

  const service: DevService = {
    name: 'kafka',
    envVar: 'KAFKA_BROKERS',
    endpoint,
    version: options.version,

    async install(progress) {
      if (existsSync(installedMarker)) return;
      progress(`downloading Apache Kafka ${options.version} jars from Maven Central into ${libsDir}`);
      await copyDependencies(
        join(here, 'kafka', 'pom.xml'),
        libsDir,
        { 'kafka.version': options.version },
        `Apache Kafka ${options.version}`,
      );
      writeFileSync(installedMarker, new Date().toISOString());
    },

    async start(progress) {
      if (runningPid() !== undefined && (await isPortOpen(options.port))) return 'already running';
      if (await isPortOpen(options.port)) {
        throw new SluiceError(
          'DEV_PORT_IN_USE',
          `port ${options.port} (Kafka) is in use by another process: stop it or set SLUICE_DEV_KAFKA_PORT`,
        );
      }
      await service.install(progress);
      const java = await findJava(17, `Apache Kafka ${options.version}`);
      mkdirSync(options.dir, { recursive: true });
      writeFileSync(propertiesFile, serverProperties(options));
      if (!existsSync(join(options.dir, 'data', 'meta.properties'))) {
        await runCommand(
          java,
          [
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '--standalone',
            // one argument: a random id may start with '-', which argparse would take for an option
            `--cluster-id=${clusterId()}`,
            '-c',
            propertiesFile,
            ...(options.formatArguments ?? []),
          ],
          { what: 'formatting the Kafka storage' },
        );
      }
      progress(`starting Kafka ${options.version} on ${endpoint}`);
      removeFile(pidFile);
      const pid = spawnDetached(
        java,
        [
          '-Xms256m',
          '-Xmx1g',
          '-XX:+UseG1GC',
          `-Dlog4j2.configurationFile=${join(here, 'kafka', 'log4j2.properties')}`,
          '-cp',
          classpath,
          'kafka.Kafka',
          propertiesFile,
        ],
        { logFile, pidFile },
      );
      await waitUntil(() => isPortOpen(options.port), {
        deadlineMs: 90_000,
        what: `Kafka on ${endpoint}`,
        abortIf: () =>
          isAlive(pid) ? undefined : `the broker exited; its log ${logFile} ends with:\n${logTail(logFile)}`,
      });
      return 'started';
    },

    async stop() {
      const pid = runningPid();
      if (pid === undefined) return 'not running';
      await stopProcess(pid, { graceMs: 20_000 });
      removeFile(pidFile);
      return 'stopped';
    },

    async status(): Promise<ServiceStatus> {
      const pid = runningPid();
      const up = pid !== undefined && (await isPortOpen(options.port));
      return {
        name: 'kafka',
        state: up ? 'running' : 'stopped',
        version: options.version,
        endpoint,
        pid,
        logFile,
      };
    },
  };
  return service;
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding (22 characters). */
function clusterId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
}
