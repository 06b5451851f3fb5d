/** Topic and consumer-group administration: create and check topics, read offsets, rewind groups. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { SluiceError } from '../errors.ts';
import { groupBy } from '../group-by.ts';
import type { KafkaHandle } from './client.ts';
import { kafkaCall, kafkaReadCall } from './errors.ts';
import { checkBrokerCertificates } from './tls-preflight.ts';
import type { TopicPartitionOffset, TopicSpec } from './types.ts';

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: string;
  /** The offset the next record will get (includes transaction markers). */
  high: string;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** Partition count of a topic, or undefined when it does not exist. */
  partitionCount(topic: string): Promise<number | undefined>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Deletes the records before `offset` in each partition given (the log start moves there). */
  deleteRecords(topic: string, before: readonly { partition: number; offset: string }[]): Promise<void>;
  /** Offsets of the first record at or after `timestamp` per partition (the end when none). */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<{ partition: number; offset: string }[]>;
  /** The group's committed offsets for a topic; '-1' where it has none. */
  committedOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  setCommittedOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Topics on which the group has committed offsets. */
  committedTopics(groupId: string): Promise<string[]>;
  /** Members of a consumer group and its state ('Empty', 'Stable', 'Dead', ...). */
  describeGroup(
    groupId: string,
  ): Promise<{ state: string; members: { memberId: string; clientId: string; host: string }[] }>;
  topicConfig(topic: string): Promise<Record<string, string>>;
  /** True when a broker answers a metadata request within `timeoutMs`. */
  isReachable(timeoutMs: number): Promise<boolean>;
  disconnect(): Promise<void>;
}

export async function connectAdmin(handle: KafkaHandle): Promise<KafkaAdmin> {
  await checkBrokerCertificates(handle.connection);
  const admin: Admin = handle.kafka.admin();
  await kafkaCall('connecting to Kafka (admin)', () => admin.connect());

  const partitionCount = async (topic: string) => {
    const topics = await kafkaCall('listing topics', () => admin.listTopics());
    if (!topics.includes(topic)) return undefined;
    const metadata = await kafkaCall(`reading metadata of ${topic}`, () =>
      admin.fetchTopicMetadata({ topics: [topic] }),
    );
    return metadata.topics[0]?.partitions.length;
  };

  /**
   * Waits until the broker lists the topics and serves their partitions: a topic created a moment
   * ago (here, or by another instance starting at the same time) reaches a busy broker's metadata
   * a little later, and everything after ensureTopics relies on it.
   */
  const waitUntilServed = async (topics: readonly string[]) => {
    const deadline = performance.now() + 20_000;
    for (let attempt = 1; ; attempt++) {
      const listed = new Set(await kafkaCall('listing topics', () => admin.listTopics()).catch(() => []));
      if (topics.every((topic) => listed.has(topic))) {
        const served = await kafkaCall(`reading metadata of ${topics.join(', ')}`, () =>
          admin.fetchTopicMetadata({ topics: [...topics] }),
        ).catch(() => undefined);
        const ready = served?.topics
          .filter((entry) => entry.partitions.length > 0)
          .map((entry) => entry.name);
        if (ready && topics.every((topic) => ready.includes(topic))) return;
      }
      if (performance.now() > deadline) {
        throw new SluiceError(
          'KAFKA_REQUEST_FAILED',
          `topics ${topics.join(', ')} exist but the broker has not served their partitions for 20 s: check the broker's health`,
        );
      }
      await sleep(Math.min(1000, 100 * attempt));
    }
  };

  return {
    async ensureTopics(specs) {
      // a busy broker can answer a fresh topic's metadata with UNKNOWN_TOPIC_OR_PARTITION for a
      // moment: retry, skipping what exists by then
      for (let attempt = 1; ; attempt++) {
        const existing = new Set(await kafkaCall('listing topics', () => admin.listTopics()));
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return waitUntilServed(specs.map((spec) => spec.topic));
        try {
          await kafkaCall(`creating topics ${missing.map((spec) => spec.topic).join(', ')}`, () =>
            admin.createTopics({
              waitForLeaders: true,
              topics: missing.map((spec) => ({
                topic: spec.topic,
                numPartitions: spec.partitions,
                replicationFactor: spec.replicationFactor ?? 1,
                configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
              })),
            }),
          );
          // created here, or a moment ago by another instance starting beside this one
          return waitUntilServed(specs.map((spec) => spec.topic));
        } catch (error) {
          if (attempt >= 5 || !(error as SluiceError).retriable) throw error;
          await sleep(300 * attempt);
        }
      }
    },
    partitionCount,
    listTopics: () => kafkaCall('listing topics', () => admin.listTopics()),
    async deleteTopics(topics) {
      if (topics.length > 0)
        await kafkaCall('deleting topics', () => admin.deleteTopics({ topics: [...topics] }));
    },
    async topicOffsets(topic) {
      const offsets = await kafkaCall(`reading offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
      return offsets
        .map(({ partition, low, high }) => ({ partition, low, high }))
        .sort((a, b) => a.partition - b.partition);
    },
    async deleteRecords(topic, before) {
      // kafkajs looks the leaders up before it loads the topic's metadata: load it first
      await kafkaCall(`reading metadata of ${topic}`, () => admin.fetchTopicMetadata({ topics: [topic] }));
      await kafkaCall(`deleting records of ${topic}`, () =>
        admin.deleteTopicRecords({
          topic,
          partitions: before.map(({ partition, offset }) => ({ partition, offset })),
        }),
      );
    },
    async offsetsForTimestamp(topic, timestamp) {
      const offsets = await kafkaCall(`finding offsets of ${topic} at ${timestamp}`, () =>
        admin.fetchTopicOffsetsByTimestamp(topic, timestamp),
      );
      return offsets
        .map(({ partition, offset }) => ({ partition, offset }))
        .sort((a, b) => a.partition - b.partition);
    },
    async committedOffsets(groupId, topic) {
      const [result] = await kafkaReadCall(`reading committed offsets of ${groupId}`, () =>
        admin.fetchOffsets({ groupId, topics: [topic] }),
      );
      return (result?.partitions ?? [])
        .map(({ partition, offset }) => ({ partition, offset }))
        .sort((a, b) => a.partition - b.partition);
    },
    async committedTopics(groupId) {
      const topics = await kafkaReadCall(`reading committed offsets of ${groupId}`, () =>
        admin.fetchOffsets({ groupId }),
      );
      return topics
        .filter(({ partitions }) => partitions.some(({ offset }) => BigInt(offset) >= 0n))
        .map(({ topic }) => topic)
        .sort();
    },
    async setCommittedOffsets(groupId, offsets) {
      for (const [topic, entries] of groupBy(offsets, (entry) => entry.topic)) {
        const partitions = entries.map(({ partition, offset }) => ({ partition, offset }));
        await kafkaCall(`setting offsets of ${groupId} on ${topic}`, () =>
          admin.setOffsets({ groupId, topic, partitions }),
        );
      }
    },
    async describeGroup(groupId) {
      const { groups } = await kafkaReadCall(`describing group ${groupId}`, () =>
        admin.describeGroups([groupId]),
      );
      const group = groups[0];
      if (!group) throw new SluiceError('KAFKA_REQUEST_FAILED', `group ${groupId} was not described`);
      return {
        state: group.state,
        members: group.members.map(({ memberId, clientId, clientHost }) => ({
          memberId,
          clientId,
          host: clientHost,
        })),
      };
    },
    async topicConfig(topic) {
      const { resources } = await kafkaCall(`reading the config of ${topic}`, () =>
        admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic }] }),
      );
      return Object.fromEntries(
        (resources[0]?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]),
      );
    },
    async isReachable(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const answer = admin.describeCluster().then(
        (cluster) => cluster.brokers.length > 0,
        () => false,
      );
      const reachable = await Promise.race([answer, timeout]);
      clearTimeout(timer);
      return reachable;
    },
    disconnect: () => admin.disconnect(),
  };
}
