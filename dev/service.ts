/** The shape shared by the three local services (Kafka, registry, Postgres). */

export type ServiceState = 'running' | 'stopped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  version: string;
  /** The value of the environment variable that points clients at it. */
  endpoint: string;
  pid?: number;
  logFile: string;
}

export interface DevService {
  readonly name: string;
  /** KAFKA_BROKERS, SCHEMA_REGISTRY_URL or DATABASE_URL */
  readonly envVar: string;
  readonly endpoint: string;
  readonly version: string;
  /** Downloads or checks what the service needs; does nothing when it is already there. */
  install(progress: (message: string) => void): Promise<void>;
  /** Starts it unless it already runs; resolves when it accepts clients. */
  start(progress: (message: string) => void): Promise<'started' | 'already running'>;
  stop(): Promise<'stopped' | 'not running'>;
  status(): Promise<ServiceStatus>;
}
