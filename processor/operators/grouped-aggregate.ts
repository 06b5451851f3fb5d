/**
 * A groupBy + (window +) aggregate node as an Operator: computes each item's group, checks that a
 * grouping which keeps the partitioning really does (the partition key field must equal the
 * record's key), folds items into the write cache through the window kind's AggregateOperator,
 * and turns what closes or changes into items for the operators after it.
 */
import { groupOf, keyObject } from '../app/group-key.ts';
import type { GroupingPlan, PartitionedBy } from '../app/topology.ts';
import { encodeGroup } from '../state/key-codec.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { WriteCache } from '../state/write-cache.ts';
import {
  createAggregateOperator,
  type Emission,
  type GroupedEvent,
  type StoredAggregate,
} from './aggregate-operator.ts';
import {
  type Item,
  type ItemOrigin,
  type Operator,
  type OperatorContext,
  UserCodeError,
  userCodeError,
} from './operator.ts';

export interface GroupedAggregateOptions {
  grouping: GroupingPlan;
  /** The partitioning the grouping keeps (checked per item); undefined when it read a repartition topic. */
  keeps: PartitionedBy | undefined;
  cache: WriteCache<StoredAggregate>;
  store: KeyValueStore;
  context: OperatorContext;
}

/**
 * No input record holds an emission: a dead letter keeps the emission itself, as JSON, with the
 * closing record's place. Built only if one is written (most emissions never are: encoding each
 * one up front cost more than the aggregation).
 */
function emissionOrigin(cause: ItemOrigin, group: unknown[], value: unknown): ItemOrigin {
  let key: Buffer | undefined;
  let bytes: Buffer | undefined;
  return {
    topic: cause.topic,
    partition: cause.partition,
    offset: cause.offset,
    headers: {},
    get key() {
      key ??= encodeGroup(group);
      return key;
    },
    get value() {
      bytes ??= Buffer.from(JSON.stringify(value));
      return bytes;
    },
  };
}

export function createGroupedAggregate(options: GroupedAggregateOptions): Operator {
  const { grouping, keeps, cache, store, context } = options;
  const operator = createAggregateOperator(grouping, cache);
  const partitionField = keeps?.kind === 'field' ? keeps.field : undefined;
  /** The batch's last item here: emissions are dead-lettered at its place, as before graphs. */
  let lastItem: Item | undefined;
  /** Groups computed by keysFor, reused by process for the same batch (one key computation per item). */
  let prepared = new Map<Item, GroupedEvent | { failed: unknown }>();
  const groupedOnce = (item: Item): GroupedEvent => {
    const known = prepared.get(item);
    if (known && 'failed' in known) throw known.failed;
    return known ?? grouped(item);
  };

  const grouped = (item: Item): GroupedEvent => {
    let group: unknown[];
    try {
      group = groupOf(grouping, item.value);
    } catch (error) {
      throw userCodeError('groupBy', error);
    }
    if (partitionField !== undefined && item.partitionKey !== undefined) {
      const value = (item.value as Record<string, unknown>)[partitionField];
      if (value !== item.partitionKey) {
        throw new UserCodeError(
          `${partitionField} "${String(value)}" differs from the record key "${item.partitionKey}"`,
        );
      }
    }
    return { group, groupBytes: encodeGroup(group), timestamp: item.timestamp, event: item.value };
  };

  const toItem = (emission: Emission, cause: Item, streamTime: number): Item => {
    const key = keyObject(grouping, emission.group);
    const value = emission.window
      ? { key, window: emission.window, value: emission.result }
      : { key, value: emission.result };
    const partitionKey = partitionField === undefined ? undefined : key[partitionField];
    return {
      value,
      // a closed window's results belong to its last instant; an update to the record that made it
      timestamp:
        emission.window && grouping.emit === 'onWindowClose' ? emission.window.end - 1 : cause.timestamp,
      streamTime,
      partitionKey: typeof partitionKey === 'string' ? partitionKey : undefined,
      origin: emissionOrigin(cause.origin, emission.group, value),
      derived: true,
    };
  };

  return {
    open: () => operator.rebuildIndex(store),

    keysFor(items) {
      prepared = new Map();
      return items.flatMap((item) => {
        try {
          const event = grouped(item);
          prepared.set(item, event);
          return operator.keysFor(event, item.streamTime);
        } catch (error) {
          prepared.set(item, { failed: error }); // process() dead-letters it
          return [];
        }
      });
    },

    process(items) {
      for (const item of items) {
        lastItem = item;
        try {
          if (!operator.add(groupedOnce(item), item.streamTime)) {
            context.deadLetter(item.origin, 'late', {
              name: 'LateRecord',
              message: `event time ${item.timestamp} is behind stream time ${item.streamTime} by more than the window allows`,
            });
          }
        } catch (error) {
          context.deadLetter(item.origin, item.derived ? 'emit' : 'process', error);
        }
      }
      prepared = new Map(); // a Map, not a WeakMap: ephemerons cost the collector more than one batch's references
      return [];
    },

    dueKeys: (streamTime) => operator.dueKeys(streamTime),

    onStreamTime(streamTime, batchEnd) {
      const cause = lastItem ?? batchEnd;
      lastItem = undefined;
      return [...operator.closeDue(streamTime), ...operator.takeUpdates()].map((emission) =>
        toItem(emission, cause, streamTime),
      );
    },
  };
}
