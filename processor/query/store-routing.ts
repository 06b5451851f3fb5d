/**
 * Where a state query for one store's key goes: which store and aggregation answer, how the
 * key in the URL reads, and which partition (of which topic's partitioning) owns the key. Pure:
 * a store in sub-topology 0 is owned by the partition of its source partition-key field (as the
 * producers put it), a store behind a repartition by the murmur2 partition of the repartition
 * record's key (as the repartition writer keys it). Task `<s>_<p>` holds partition p of
 * sub-topology s, and a slot owns partition p of every sub-topology, so the partition alone
 * finds the owner.
 */
import type { CompiledApp } from '../app/compile.ts';
import type { KeySpec } from '../app/graph.ts';
import { keyObject } from '../app/group-key.ts';
import type { GroupingPlan, StorePlan } from '../app/topology.ts';
import { encodeGroup } from '../state/key-codec.ts';

/** What decides the owning partition: a source field's value, or a repartition record's key. */
export type PartitionKey =
  | { kind: 'source'; key: string }
  | { kind: 'repartition'; topic: string; key: Buffer };

export interface StoreRoute {
  store: StorePlan;
  grouping: GroupingPlan;
  /** How a key is written in the URL (for error messages). */
  keyShape: string;
  /** The group's values from the URL's key; an Error says what is wrong with it. */
  parseKey(raw: string): unknown[] | Error;
  /** The key that picks the owning partition, or an Error when the group does not say it. */
  partitionKey(group: readonly unknown[]): PartitionKey | Error;
  /** The source's partition-key value (the tenant) in the group, when the group has it. */
  tenantOf(group: readonly unknown[]): string | undefined;
}

const sameKey = (a: KeySpec, b: KeySpec) =>
  a === b ||
  (a.kind === 'fields' &&
    b.kind === 'fields' &&
    a.fields.length === b.fields.length &&
    a.fields.every((field, index) => b.fields[index] === field));

function keyParser(grouping: GroupingPlan): Pick<StoreRoute, 'keyShape' | 'parseKey'> {
  const { key, fields } = grouping;
  if (key.kind === 'function') {
    // a key function's group is its result's entries in order, so the URL gives that object
    return {
      keyShape: 'a JSON object of the key function’s fields, in the order it returns them',
      parseKey(raw) {
        try {
          const parsed = JSON.parse(raw);
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
          return Object.entries(parsed).flat();
        } catch {
          return new Error('not a JSON object');
        }
      },
    };
  }
  return {
    keyShape: `a JSON array of ${fields.length} value(s): [${fields.join(', ')}]`,
    parseKey(raw) {
      try {
        const parsed = raw.startsWith('[') ? JSON.parse(raw) : [raw];
        if (!Array.isArray(parsed) || parsed.length !== fields.length) throw new Error();
        return parsed;
      } catch {
        return new Error('wrong shape');
      }
    },
  };
}

/** undefined when the app has no store of that name. */
export function routeStore(compiled: CompiledApp, name: string): StoreRoute | undefined {
  const store = compiled.stores.find((each) => each.name === name);
  const grouping = store && compiled.topology.groupings.get(store.node);
  const partitioning = store && compiled.topology.partitioning.get(store.node);
  if (!store || !grouping) return undefined;
  const sourceField = compiled.source.partitionKey;
  const fieldOf = (group: readonly unknown[], field: string) => {
    const object = keyObject(grouping, group);
    return Object.hasOwn(object, field) ? object[field] : undefined;
  };
  return {
    store,
    grouping,
    ...keyParser(grouping),
    tenantOf(group) {
      const value = fieldOf(group, sourceField);
      return value === undefined ? undefined : String(value);
    },
    partitionKey(group) {
      if (!partitioning || partitioning.kind === 'field') {
        const field = partitioning?.field ?? sourceField;
        const value = fieldOf(group, field);
        return value === undefined
          ? new Error(`the key has no '${field}', the field that picks its partition`)
          : { kind: 'source', key: String(value) };
      }
      const by = partitioning.key;
      if (sameKey(by, grouping.key))
        return { kind: 'repartition', topic: partitioning.topic, key: encodeGroup(group) };
      if (by.kind === 'fields') {
        const values = by.fields.map((field) => fieldOf(group, field));
        if (values.every((value) => value !== undefined)) {
          return { kind: 'repartition', topic: partitioning.topic, key: encodeGroup(values) };
        }
      }
      return new Error(
        `store ${name} is fed through ${partitioning.topic}, whose key the store's key does not give; ` +
          'query a store keyed by the repartition key',
      );
    },
  };
}
