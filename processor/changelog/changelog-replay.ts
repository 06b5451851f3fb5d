/**
 * Offline tools over a changelog: rebuild a store from it (e.g. to seed a new machine or inspect
 * state), and verify that a store holds exactly what its changelog says up to the store's
 * position. Both refuse a store that a running instance holds (RocksDB's lock).
 */
import type { KafkaClient } from '../../common/kafka/index.ts';
import type { Logger } from '../../common/log.ts';
import { decodeKey } from '../state/key-codec.ts';
import { destroyStore, openRocksDbStore } from '../state/rocksdb-store.ts';
import { storePath } from '../state/store-opener.ts';
import { describeValue } from './changelog-view.ts';
import { type RestoreProgress, restoreFromChangelog } from './restorer.ts';

export interface ReplayResult {
  partition: number;
  records: number;
  position: string;
  path: string;
}

export async function replayIntoStore(options: {
  kafka: KafkaClient;
  changelogTopic: string;
  appId: string;
  store: string;
  partition: number;
  stateDir: string;
  logger: Logger;
  onProgress?: (progress: RestoreProgress) => void;
}): Promise<ReplayResult> {
  const path = storePath(options.stateDir, options.appId, options.store, options.partition);
  // opening takes the store's lock: this fails while a running instance holds it
  await (await openRocksDbStore(path)).close();
  destroyStore(path);
  const store = await openRocksDbStore(path);
  try {
    const result = await restoreFromChangelog({
      kafka: options.kafka,
      store,
      topic: options.changelogTopic,
      partition: options.partition,
      from: undefined,
      logger: options.logger,
      onProgress: options.onProgress,
    });
    return { partition: options.partition, records: result.records, position: result.position, path };
  } finally {
    await store.close();
  }
}

export interface StoreDifference {
  kind: 'missing' | 'extra' | 'different';
  key: unknown;
  windowStart?: number;
  expected?: unknown;
  actual?: unknown;
}

export interface VerifyResult {
  partition: number;
  path: string;
  /** The changelog position the store says it reflects. */
  position: string | undefined;
  keysCompared: number;
  differences: StoreDifference[];
}

function describeKey(key: Buffer): { key: unknown; windowStart?: number; keyKind: string } {
  try {
    const decoded = decodeKey(key);
    return {
      key: decoded.group,
      keyKind: decoded.kind,
      ...(decoded.start === undefined ? {} : { windowStart: decoded.start }),
    };
  } catch {
    return { key: key.toString('hex'), keyKind: 'unknown' };
  }
}

function difference(
  kind: StoreDifference['kind'],
  key: Buffer,
  expected: Buffer | undefined,
  actual: Buffer | undefined,
): StoreDifference {
  const { keyKind, ...described } = describeKey(key);
  return {
    kind,
    ...described,
    ...(expected === undefined ? {} : { expected: describeValue(keyKind, expected) }),
    ...(actual === undefined ? {} : { actual: describeValue(keyKind, actual) }),
  };
}

export async function verifyStore(options: {
  kafka: KafkaClient;
  changelogTopic: string;
  appId: string;
  store: string;
  partition: number;
  stateDir: string;
}): Promise<VerifyResult> {
  const path = storePath(options.stateDir, options.appId, options.store, options.partition);
  const store = await openRocksDbStore(path);
  try {
    const position = await store.changelogPosition();
    const expected = new Map<string, Buffer | null>();
    if (position !== undefined) {
      await options.kafka.readTopic({
        topic: options.changelogTopic,
        partitions: [options.partition],
        until: 'end',
        isolation: 'read_committed',
        onBatch: (records) => {
          for (const record of records) {
            if (BigInt(record.offset) < BigInt(position))
              expected.set(record.key!.toString('latin1'), record.value);
          }
        },
      });
    }
    const differences: StoreDifference[] = [];
    const seen = new Set<string>();
    for await (const [key, value] of store.range({})) {
      const id = key.toString('latin1');
      seen.add(id);
      const want = expected.get(id);
      if (want === undefined || want === null) differences.push(difference('extra', key, undefined, value));
      else if (!want.equals(value)) differences.push(difference('different', key, want, value));
    }
    for (const [id, want] of expected) {
      if (want !== null && !seen.has(id))
        differences.push(difference('missing', Buffer.from(id, 'latin1'), want, undefined));
    }
    return {
      partition: options.partition,
      path,
      position,
      keysCompared: seen.size,
      differences,
    };
  } finally {
    await store.close();
  }
}
