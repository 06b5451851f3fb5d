/** Session windows: one store entry per group holding its open sessions; a record may merge several. */
import type { GroupingPlan } from '../app/topology.ts';
import { dataKeyRange, decodeKey, keyKinds, sessionsKey } from '../state/key-codec.ts';
import type { WriteCache } from '../state/write-cache.ts';
import { isLateForSession, mergeSession, type SessionSpec, sessionCloseTime } from '../windows/windows.ts';
import {
  type AggregateOperator,
  CloseIndex,
  type Emission,
  type State,
  type StoredAggregate,
} from './aggregate-operator.ts';

type Session = { start: number; end: number; state: State };

export function createSessionAggregate(
  plan: GroupingPlan,
  spec: SessionSpec,
  cache: WriteCache<StoredAggregate>,
): AggregateOperator {
  const { aggregation } = plan;
  const index = new CloseIndex();
  const updated = new Map<string, { key: Buffer; group: unknown[] }>();
  const sessionsOf = (key: Buffer): Session[] =>
    (cache.get(key) as { sessions: Session[] } | undefined)?.sessions ?? [];
  const store = (key: Buffer, sessions: Session[]) =>
    sessions.length === 0 ? cache.delete(key) : cache.set(key, { sessions });

  return {
    keysFor(item) {
      return [sessionsKey(item.groupBytes)];
    },

    add(item, streamTime) {
      if (isLateForSession(spec, item.timestamp, streamTime)) return false;
      const key = sessionsKey(item.groupBytes);
      const sessions = sessionsOf(key);
      const { merged, replaced } = mergeSession(spec, item.timestamp, sessions);
      let state = aggregation.add(aggregation.init(), item.event);
      for (const old of replaced) {
        state = aggregation.merge(old.state, state);
        index.remove(sessionCloseTime(spec, old), key);
      }
      const kept = sessions.filter((session) => !replaced.includes(session));
      store(
        key,
        [...kept, { ...merged, state }].sort((a, b) => a.start - b.start),
      );
      index.add(sessionCloseTime(spec, merged), key);
      if (plan.emit === 'onUpdate') updated.set(key.toString('latin1'), { key, group: item.group });
      return true;
    },

    dueKeys(streamTime) {
      return index.due(streamTime).flatMap(([, keys]) => keys);
    },

    closeDue(streamTime) {
      const emissions: Emission[] = [];
      for (const [closeTime, keys] of index.due(streamTime)) {
        for (const key of keys) {
          index.remove(closeTime, key);
          const sessions = sessionsOf(key);
          const closing = sessions.filter((session) => sessionCloseTime(spec, session) <= streamTime);
          if (closing.length === 0) continue;
          const group = decodeKey(key).group as unknown[];
          if (plan.emit === 'onWindowClose') {
            for (const session of closing) {
              emissions.push({
                group,
                window: { start: session.start, end: session.end },
                result: aggregation.result(session.state),
              });
            }
          }
          store(
            key,
            sessions.filter((session) => !closing.includes(session)),
          );
        }
      }
      return emissions;
    },

    takeUpdates() {
      const emissions = [...updated.values()].flatMap(({ key, group }) =>
        sessionsOf(key).map((session) => ({
          group,
          window: { start: session.start, end: session.end },
          result: aggregation.result(session.state),
        })),
      );
      updated.clear();
      return emissions;
    },

    async rebuildIndex(kvStore) {
      index.clear();
      updated.clear();
      for await (const [key, value] of kvStore.range(dataKeyRange)) {
        if (key[0] !== keyKinds.sessions) continue;
        const { sessions } = JSON.parse(value.toString('utf8')) as { sessions: Session[] };
        for (const session of sessions) index.add(sessionCloseTime(spec, session), key);
      }
    },
  };
}
