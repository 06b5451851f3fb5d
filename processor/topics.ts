/** The names of everything an app owns in Kafka, built in one place. */

export function changelogTopic(appId: string, store: string): string {
  return `${appId}-${store}-changelog`;
}

/** Where an app moves records to the partition of a new key (a groupBy or repartition named `name`). */
export function repartitionTopic(appId: string, name: string): string {
  return `${appId}-${name}-repartition`;
}

/** Whether a topic is one of the app's repartition topics (as repartitionTopic names them). */
export function isRepartitionTopic(appId: string, topic: string): boolean {
  return topic.startsWith(`${appId}-`) && topic.endsWith('-repartition');
}

export function deadLetterTopic(appId: string): string {
  return `${appId}-dlq`;
}

/** One transactional producer per input partition, so a new owner's initTransactions fences the old one. */
export function transactionalId(appId: string, topic: string, partition: number): string {
  return `${appId}-${topic}-${partition}`;
}

/** The consumer group of an app (the seed's cluster.groupId). */
export function consumerGroup(appId: string): string {
  return appId;
}
