/** Environment variables that override config file settings, each mapped to one setting. */

type Parse = (raw: string) => unknown;
const text: Parse = (raw) => raw;
const list: Parse = (raw) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const number: Parse = (raw) => (raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw));
const boolean: Parse = (raw) =>
  /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw;

export const environmentOverrides: readonly { name: string; path: string[]; parse: Parse }[] = [
  { name: 'KAFKA_BROKERS', path: ['kafka', 'brokers'], parse: list },
  { name: 'SCHEMA_REGISTRY_URL', path: ['registry', 'url'], parse: text },
  { name: 'DATABASE_URL', path: ['database', 'url'], parse: text },
  { name: 'SLUICE_LOG_LEVEL', path: ['log', 'level'], parse: text },
  { name: 'SLUICE_KAFKA_REPLICATION_FACTOR', path: ['kafka', 'replicationFactor'], parse: number },
  { name: 'SLUICE_KAFKA_SSL', path: ['kafka', 'tls', 'enabled'], parse: boolean },
  { name: 'SLUICE_KAFKA_TLS_CA', path: ['kafka', 'tls', 'ca'], parse: text },
  { name: 'SLUICE_KAFKA_TLS_CERT', path: ['kafka', 'tls', 'cert'], parse: text },
  { name: 'SLUICE_KAFKA_TLS_KEY', path: ['kafka', 'tls', 'key'], parse: text },
  { name: 'SLUICE_KAFKA_SASL_MECHANISM', path: ['kafka', 'sasl', 'mechanism'], parse: text },
  { name: 'SLUICE_KAFKA_SASL_USERNAME', path: ['kafka', 'sasl', 'username'], parse: text },
  { name: 'SLUICE_KAFKA_SASL_PASSWORD', path: ['kafka', 'sasl', 'password'], parse: text },
  { name: 'SLUICE_KAFKA_SASL_PASSWORD_FILE', path: ['kafka', 'sasl', 'passwordFile'], parse: text },
  { name: 'SLUICE_REGISTRY_PASSWORD', path: ['registry', 'auth', 'password'], parse: text },
  { name: 'SLUICE_REGISTRY_TOKEN', path: ['registry', 'auth', 'token'], parse: text },
  { name: 'SLUICE_DATABASE_PASSWORD_FILE', path: ['database', 'passwordFile'], parse: text },
  { name: 'SLUICE_ROUTER_PORT', path: ['router', 'port'], parse: number },
  { name: 'SLUICE_ROUTER_WORKERS', path: ['router', 'workers'], parse: number },
  { name: 'SLUICE_ROUTER_AUTH', path: ['router', 'auth', 'enabled'], parse: boolean },
  { name: 'SLUICE_ROUTER_KEYS_FILE', path: ['router', 'auth', 'keysFile'], parse: text },
  { name: 'SLUICE_STATE_DIR', path: ['processor', 'stateDir'], parse: text },
  { name: 'SLUICE_GUARANTEE', path: ['processor', 'guarantee'], parse: text },
  { name: 'SLUICE_PROCESSOR_WORKERS', path: ['processor', 'workers'], parse: number },
  { name: 'SLUICE_OFFSET_RESET', path: ['processor', 'offsetReset'], parse: text },
  { name: 'SLUICE_PROCESSOR_PORT', path: ['processor', 'http', 'port'], parse: number },
  { name: 'SLUICE_PROCESSOR_AUTH', path: ['processor', 'http', 'auth', 'enabled'], parse: boolean },
  { name: 'SLUICE_PROCESSOR_KEYS_FILE', path: ['processor', 'http', 'auth', 'keysFile'], parse: text },
  { name: 'SLUICE_PROCESSOR_OPEN_PROBES', path: ['processor', 'http', 'auth', 'openProbes'], parse: boolean },
  { name: 'SLUICE_CLUSTER_ENABLED', path: ['cluster', 'enabled'], parse: boolean },
  { name: 'SLUICE_SLOTS', path: ['cluster', 'slots'], parse: number },
  { name: 'SLUICE_SLOT', path: ['cluster', 'slot'], parse: (raw) => (raw === 'auto' ? raw : number(raw)) },
  { name: 'SLUICE_ADVERTISED_ADDRESS', path: ['cluster', 'advertisedAddress'], parse: text },
  { name: 'SLUICE_HEARTBEAT_INTERVAL', path: ['cluster', 'heartbeatInterval'], parse: number },
  { name: 'SLUICE_HEARTBEAT_MAX_RETRY', path: ['cluster', 'heartbeatMaxRetry'], parse: number },
  { name: 'SLUICE_EVENT_POLLING_INTERVAL', path: ['cluster', 'eventPollingInterval'], parse: number },
  { name: 'SLUICE_TAKEOVER_DELAY', path: ['cluster', 'takeoverDelay'], parse: number },
  { name: 'SLUICE_PROGRESS_TIMEOUT', path: ['cluster', 'progressTimeout'], parse: number },
];
