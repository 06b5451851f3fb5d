/**
 * The upstream end of a repartition: writes each item to `<app>-<name>-repartition`, keyed by its
 * new key (so the producer's murmur2 partitioner puts one key in one partition), the event in the
 * internal codec, its event time as the record timestamp. The records join the task's outputs,
 * so they commit in the same transaction as its input offsets, changelog and other outputs.
 */
import { groupOf } from '../app/group-key.ts';
import { encodeRepartitionValue } from '../app/repartition-codec.ts';
import type { RepartitionPlan } from '../app/topology.ts';
import { encodeGroup } from '../state/key-codec.ts';
import { guarded, type Operator, type OperatorContext } from './operator.ts';

export function createRepartitionWriter(plan: RepartitionPlan, context: OperatorContext): Operator {
  return {
    process(items) {
      for (const item of items) {
        const key = guarded(context, item, 'groupBy', () => encodeGroup(groupOf(plan, item.value)));
        if (key === undefined) continue;
        const value = guarded(context, item, 'repartition', () => encodeRepartitionValue(item.value));
        if (value === undefined) continue;
        context.output({ topic: plan.topic, key, value, timestamp: item.timestamp });
      }
      return [];
    },
  };
}
