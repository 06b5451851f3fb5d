/**
 * A stream–stream windowed join as an Operator: Kafka Streams' `KStream#join(other, joiner,
 * JoinWindows.ofTimeDifferenceAndGrace(within, grace))`, inner, left or outer. The time rules:
 *
 * - A left and a right record match when their join keys are equal and their times are at most
 *   `within` apart (both bounds included). The result `joiner(left, right)` carries the later time.
 * - Each side's records wait in that side's store, under (join key, time), for the other side's.
 *   A record's window closes once stream time passes `time + within + grace`: it is then removed
 *   (a tombstone in the changelog) and can match nothing more.
 * - A record that arrives with its own window already closed (`time + within + grace` < stream
 *   time) is late: dead-lettered (stage `late`), it joins nothing. A record joins only buffered
 *   records whose windows are still open at its stream time.
 * - left / outer: when the window of a left (outer: either side's) record that never matched
 *   closes, `joiner(left, null)` (`joiner(null, right)`) is passed on with the record's time — never
 *   earlier (no eager null results, as Kafka Streams 3.x+). Such a result carries as its stream
 *   time the moment its window closed (`time + within + grace + 1`), whatever batch found it.
 * - A record whose join key is missing or not a string, or a throwing joiner, is dead-lettered.
 *
 * Each side keeps an in-memory index of the (key, time) entries its store holds — which times a
 * key has, and when each entry closes — rebuilt from the store in `open` (after a restore), so a
 * batch reads exactly the entries it can match (`load`) and the ones that close (`loadDue`).
 */
import type { StreamJoinNode } from '../app/graph.ts';
import { decodeKey, joinedKey, joinedKeyRange } from '../state/key-codec.ts';
import type { KeyValueStore } from '../state/store.ts';
import type { WriteCache } from '../state/write-cache.ts';
import { CloseIndex } from './aggregate-operator.ts';
import { guarded, type Item, type Operator, type OperatorContext, UserCodeError } from './operator.ts';

/** One buffered record: its value, whether it matched, and where it came from (for dead letters). */
export interface Buffered {
  v: unknown;
  /** 1 once the record joined a record of the other side. */
  m?: 1;
  /** The task's stream time when the record was seen. */
  s: number;
  /** topic, partition, offset of the input record. */
  o: [string, number, string];
}

/** What a join side's store holds per (join key, time): the records of that key at that time. */
export type BufferedRecords = Buffered[];

export interface JoinSideState {
  store: KeyValueStore;
  cache: WriteCache<BufferedRecords>;
}

export type StreamJoinSpec = Pick<StreamJoinNode, 'type' | 'on' | 'graceMs' | 'joiner'> & {
  withinMs: number;
};

class Side {
  /** Buffered times of each join key, ascending. */
  readonly times = new Map<string, number[]>();
  readonly closing = new CloseIndex();

  readonly index: 0 | 1;
  readonly field: string;
  readonly state: JoinSideState;
  /** Its unmatched records are passed on with a null partner when their window closes. */
  readonly outer: boolean;

  constructor(index: 0 | 1, field: string, state: JoinSideState, outer: boolean) {
    this.index = index;
    this.field = field;
    this.state = state;
    this.outer = outer;
  }

  add(key: string, time: number, closeTime: number): void {
    const times = this.times.get(key) ?? [];
    if (times.includes(time)) return;
    times.push(time);
    times.sort((a, b) => a - b);
    this.times.set(key, times);
    this.closing.add(closeTime, joinedKey(key, time));
  }

  remove(key: string, time: number): void {
    const times = this.times.get(key)?.filter((each) => each !== time) ?? [];
    if (times.length === 0) this.times.delete(key);
    else this.times.set(key, times);
  }

  /** Buffered times of `key` in [from, to]. */
  timesBetween(key: string, from: number, to: number): number[] {
    return (this.times.get(key) ?? []).filter((time) => time >= from && time <= to);
  }
}

export function createStreamJoin(
  spec: StreamJoinSpec,
  states: readonly [left: JoinSideState, right: JoinSideState],
  context: OperatorContext,
): Operator {
  const { withinMs, graceMs } = spec;
  const sides = [
    new Side(0, spec.on.left, states[0], spec.type !== 'inner'),
    new Side(1, spec.on.right, states[1], spec.type === 'outer'),
  ] as const;
  const sideOf = (item: Item): Side => sides[item.side === 1 ? 1 : 0];
  const otherOf = (side: Side): Side => sides[side.index === 0 ? 1 : 0];
  const closeTimeOf = (time: number) => time + withinMs + graceMs + 1;
  /**
   * Whether two records within `within` of each other join: the one seen first (the smaller
   * stream time; stream time only grows in input order) must still be open when the other is
   * seen. Decided from the records alone, so it does not depend on the order a batch hands them
   * over (a batch of one input feeding both sides gives the left items first).
   */
  const stillOpen = (a: { time: number; seenAt: number }, b: { time: number; seenAt: number }) => {
    const [first, second] = a.seenAt <= b.seenAt ? [a, b] : [b, a];
    return closeTimeOf(first.time) > second.seenAt;
  };
  /** Each item's join key: undefined when it has none (dead-lettered). */
  let keys = new Map<Item, string | undefined>();

  const keyOf = (item: Item): string | undefined => {
    if (!keys.has(item)) {
      const side = sideOf(item);
      const key = guarded(context, item, 'join key', () => {
        const value = (item.value as Record<string, unknown> | null)?.[side.field];
        if (typeof value !== 'string')
          throw new UserCodeError(
            `stream join: field ${side.field} is ${value === null ? 'null' : typeof value}, not a string key`,
          );
        return value;
      });
      keys.set(item, key);
    }
    return keys.get(item);
  };

  const join = (left: unknown, right: unknown, like: Item, time: number): Item[] => {
    const value = guarded(context, like, 'stream join', () => spec.joiner(left, right));
    return value === undefined ? [] : [{ ...like, value, timestamp: time, side: undefined }];
  };

  return {
    async open() {
      for (const side of sides) {
        side.times.clear();
        side.closing.clear();
        for await (const [key] of side.state.store.range(joinedKeyRange)) {
          const { group, start } = decodeKey(key);
          side.add((group as string[])[0]!, start!, closeTimeOf(start!));
        }
      }
    },

    async load(items) {
      const wanted: [Buffer[], Buffer[]] = [[], []];
      for (const item of items) {
        const key = keyOf(item);
        if (key === undefined) continue;
        const own = sideOf(item);
        const other = otherOf(own);
        wanted[own.index].push(joinedKey(key, item.timestamp));
        for (const time of other.timesBetween(key, item.timestamp - withinMs, item.timestamp + withinMs))
          wanted[other.index].push(joinedKey(key, time));
      }
      await Promise.all(sides.map((side) => side.state.cache.load(wanted[side.index])));
    },

    process(items) {
      const out: Item[] = [];
      for (const item of items) {
        const key = keyOf(item);
        if (key === undefined) continue;
        const own = sideOf(item);
        const other = otherOf(own);
        const time = item.timestamp;
        if (closeTimeOf(time) <= item.streamTime) {
          context.deadLetter(
            item.origin,
            'late',
            new Error(
              `stream join: record at ${time} arrived after its join window closed (stream time ${item.streamTime}, within ${withinMs} ms, grace ${graceMs} ms)`,
            ),
          );
          continue;
        }
        let matched = false;
        for (const otherTime of other.timesBetween(key, time - withinMs, time + withinMs)) {
          const storeKey = joinedKey(key, otherTime);
          const buffered = other.state.cache.get(storeKey) ?? [];
          const partners = buffered.filter((record) =>
            stillOpen({ time: otherTime, seenAt: record.s }, { time, seenAt: item.streamTime }),
          );
          for (const record of partners) {
            matched = true;
            const [left, right] = own.index === 0 ? [item.value, record.v] : [record.v, item.value];
            out.push(...join(left, right, item, Math.max(time, otherTime)));
          }
          if (other.outer && partners.some((record) => record.m !== 1)) {
            other.state.cache.set(
              storeKey,
              buffered.map((record) => (partners.includes(record) ? { ...record, m: 1 } : record)),
            );
          }
        }
        const storeKey = joinedKey(key, time);
        const { topic, partition, offset } = item.origin;
        const record: Buffered = {
          v: item.value,
          s: item.streamTime,
          o: [topic, partition, offset],
          ...(matched ? { m: 1 } : {}),
        };
        own.state.cache.set(storeKey, [...(own.state.cache.get(storeKey) ?? []), record]);
        own.add(key, time, closeTimeOf(time));
      }
      keys = new Map();
      return out;
    },

    async loadDue(streamTime) {
      await Promise.all(
        sides.map((side) =>
          side.state.cache.load(side.closing.due(streamTime).flatMap(([, storeKeys]) => storeKeys)),
        ),
      );
    },

    onStreamTime(streamTime, batchEnd) {
      const out: Item[] = [];
      for (const side of sides) {
        for (const [closeTime, storeKeys] of side.closing.due(streamTime)) {
          for (const storeKey of storeKeys) {
            side.closing.remove(closeTime, storeKey);
            const { group, start } = decodeKey(storeKey);
            const key = (group as string[])[0]!;
            const time = start!;
            side.remove(key, time);
            const buffered = side.state.cache.get(storeKey) ?? [];
            side.state.cache.delete(storeKey);
            if (!side.outer) continue;
            for (const record of buffered.filter((each) => each.m !== 1)) {
              const [topic, partition, offset] = record.o;
              const like: Item = {
                ...batchEnd,
                value: record.v,
                timestamp: time,
                // the stream time at which the window closed, not the batch's end: what operators
                // after the join see (a window's lateness) then does not depend on batch sizes
                streamTime: closeTime,
                partitionKey: key,
                origin: { topic, partition, offset, key: Buffer.from(key), value: null, headers: {} },
                derived: true,
                arm: undefined,
              };
              const [left, right] = side.index === 0 ? [record.v, null] : [null, record.v];
              out.push(...join(left, right, like, time));
            }
          }
        }
      }
      return out;
    },
  };
}
