/**
 * Restore after SIGKILL, for every store kind: tumbling, hopping and session windows, a running
 * aggregate and a custom aggregator. For each, a real processor is SIGKILLed mid-load, restarted
 * on the same disk (its stores continue from their changelog position), SIGKILLed mid-load again,
 * and restarted on an empty disk (every store restored from its changelog); the output is then
 * compared exactly with a computation over the input records.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiStats } from '../../../schemas/event-types.ts';
import { type RequestEvent, takeRequests, tenantName } from '../../../schemas/request-generator.ts';
import { waitFor } from '../../env/wait.ts';
import {
  hoppingWindows,
  type StoreKind,
  sessionGapMs,
  stats,
  storeKinds,
  type Totals,
  tumblingMs,
} from './apps/store-kind-apps.ts';
import { type AnalyticsFixture, createAnalyticsFixture } from './fixture.ts';
import { restoredByPartition } from './logs.ts';
import type { InputRecord } from './reference.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const app = join(repo, 'test', 'integration', 'processor', 'apps', 'store-kind-apps.ts');
const start = Date.UTC(2026, 0, 1);
const tenants = 6;
const apis = 3;

type Window = { start: number; end: number };

const add = (totals: Totals, event: RequestEvent): Totals => ({
  requests: totals.requests + 1,
  throttled: totals.throttled + (event.throttledOut ? 1 : 0),
  slowest: Math.max(totals.slowest, event.responseTime),
});
const none: Totals = { requests: 0, throttled: 0, slowest: 0 };
const row = (event: RequestEvent, window: Window, totals: Totals): ApiStats =>
  stats({ userTenantDomain: event.userTenantDomain, apiName: event.apiName }, window, totals);
const keyOf = (event: RequestEvent) => JSON.stringify([event.userTenantDomain, event.apiName]);
const order = (a: ApiStats, b: ApiStats) =>
  a.userTenantDomain.localeCompare(b.userTenantDomain) ||
  a.apiName.localeCompare(b.apiName) ||
  a.windowStart - b.windowStart ||
  a.requests - b.requests;

/** Per partition in offset order (event time only grows there: no record is late). */
function byPartition(input: readonly InputRecord[]): RequestEvent[][] {
  const partitions = new Map<number, InputRecord[]>();
  for (const record of input)
    partitions.set(record.partition, [...(partitions.get(record.partition) ?? []), record]);
  return [...partitions.values()].map((records) =>
    records.sort((a, b) => (a.offset < b.offset ? -1 : 1)).map((record) => record.event!),
  );
}

/** What a windowed app emits: every window closed at its partition's final stream time, once. */
function closedWindows(kind: StoreKind, partitions: RequestEvent[][]): ApiStats[] {
  const out: ApiStats[] = [];
  for (const events of partitions) {
    const streamTime = Math.max(...events.map((event) => event.requestTimestamp));
    const windows = new Map<string, { event: RequestEvent; window: Window; totals: Totals }>();
    const count = (event: RequestEvent, window: Window) => {
      const id = `${keyOf(event)}@${window.start}`;
      const entry = windows.get(id) ?? { event, window, totals: none };
      windows.set(id, { ...entry, totals: add(entry.totals, event) });
    };
    if (kind === 'session') {
      // a record within the gap of a session (both ends inclusive) joins it; time only grows here
      const open = new Map<string, Window>();
      for (const event of events) {
        const t = event.requestTimestamp;
        const last = open.get(keyOf(event));
        const window =
          last && t - last.end <= sessionGapMs ? { start: last.start, end: t } : { start: t, end: t };
        if (last && window.start === last.start) {
          const id = `${keyOf(event)}@${window.start}`;
          windows.set(id, { ...windows.get(id)!, window });
        }
        open.set(keyOf(event), window);
        count(event, window);
      }
      for (const { event, window, totals } of windows.values()) {
        if (streamTime >= window.end + sessionGapMs) out.push(row(event, window, totals));
      }
      continue;
    }
    const { size, advance } =
      kind === 'tumbling' ? { size: tumblingMs, advance: tumblingMs } : hoppingWindows;
    for (const event of events) {
      const t = event.requestTimestamp;
      for (let s = t - (t % advance); s > t - size; s -= advance) count(event, { start: s, end: s + size });
    }
    for (const { event, window, totals } of windows.values()) {
      if (streamTime >= window.end) out.push(row(event, window, totals));
    }
  }
  return out.sort(order);
}

/**
 * A running or custom aggregate emits updates whose number depends on batching, so each update
 * is checked on its own: per key, in offset order, the request counts strictly grow (nothing
 * counted twice or lost across a restore) and each update equals the aggregate of the key's
 * first `requests` records; the last is the key's total.
 */
function checkUpdates(partitions: RequestEvent[][], output: readonly ApiStats[]): void {
  const prefixes = new Map<string, ApiStats[]>();
  for (const events of partitions) {
    for (const event of events) {
      const list = prefixes.get(keyOf(event)) ?? [];
      const before = list.at(-1);
      const totals = before
        ? { requests: before.requests, throttled: before.throttledRequests, slowest: before.maxResponseTime }
        : none;
      prefixes.set(keyOf(event), [...list, row(event, { start: 0, end: 0 }, add(totals, event))]);
    }
  }
  const updates = new Map<string, ApiStats[]>();
  for (const update of output) {
    const key = JSON.stringify([update.userTenantDomain, update.apiName]);
    updates.set(key, [...(updates.get(key) ?? []), update]);
  }
  expect([...updates.keys()].sort()).toEqual([...prefixes.keys()].sort());
  for (const [key, list] of updates) {
    const want = prefixes.get(key)!;
    list.forEach((update, index) => {
      if (index > 0) expect(update.requests, key).toBeGreaterThan(list[index - 1]!.requests);
      expect(update, key).toEqual(want[update.requests - 1]);
    });
    expect(list.at(-1), key).toEqual(want.at(-1));
  }
}

describe('restore after SIGKILL, every store kind', () => {
  let fixture: AnalyticsFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  // two starts (each with its worker threads) and kills must fit in the load: 30 s of it
  it.each(storeKinds)(
    '%s: same disk, then an empty disk, output exact',
    { timeout: 180_000 },
    async (kind) => {
      const f = await createAnalyticsFixture({ app });
      fixture = f;
      const env = { SLUICE_TEST_STORE_KIND: kind };
      const events = takeRequests(
        { seed: 40 + storeKinds.indexOf(kind), tenants, apis, startTime: start, stepMs: 20 },
        12_000,
      );
      const feeder = f.feed(events, 400);
      const committed = async () =>
        (await f.admin.committedOffsets(f.appId, f.inputTopic)).reduce(
          (sum, { offset }) => sum + Math.max(0, Number(offset)),
          0,
        );
      /** SIGKILL once the process has committed some input of its own, while the load goes on. */
      const killAfterProgress = async (process: Awaited<ReturnType<AnalyticsFixture['startProcessor']>>) => {
        const before = await committed();
        await waitFor('the processor to commit more input', async () => (await committed()) >= before + 300, {
          timeoutMs: 60_000,
        });
        process.signal('SIGKILL');
        await process.exited;
      };

      await killAfterProgress(await f.startProcessor({ name: 'first', env }));
      await killAfterProgress(await f.startProcessor({ name: 'same-disk', env }));
      const killedAt = feeder.sent();
      // an empty state directory: every store is rebuilt from its changelog
      const emptyDisk = mkdtempSync(join(tmpdir(), 'sluice-restore-'));
      const third = await f.startProcessor({ name: 'empty-disk', env, args: ['--state-dir', emptyDisk] });
      await feeder.done;
      expect(killedAt).toBeLessThan(events.length); // both kills came during the load
      // one record per tenant far ahead closes every window of the load in every partition
      const end = start + events.length * 20 + 3_600_000;
      await f.produce(
        Array.from({ length: tenants }, (_, index) => ({
          ...events[0]!,
          userTenantDomain: tenantName(index),
          requestTimestamp: end,
        })),
      );
      await f.waitCaughtUp();

      const restored = [...restoredByPartition(third.output()).values()];
      expect(restored.length).toBe(4);
      expect(restored.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      const partitions = byPartition(await f.inputRecords());
      const output = await f.outputStats();
      // updates are emitted per key and commit; windows once each when they close
      expect(output.length).toBeGreaterThan(kind === 'running' || kind === 'custom' ? tenants * apis : 100);
      if (kind === 'running' || kind === 'custom') checkUpdates(partitions, output);
      else {
        const want = closedWindows(kind, partitions);
        const got = output.map((row) => ({ ...row })).sort(order);
        // the difference first, so a failure says which windows are wrong
        const text = (rows: ApiStats[]) => new Set(rows.map((row) => JSON.stringify(row)));
        const [wantText, gotText] = [text(want), text(got)];
        expect({
          missing: [...wantText].filter((row) => !gotText.has(row)),
          extra: [...gotText].filter((row) => !wantText.has(row)),
        }).toEqual({ missing: [], extra: [] });
        expect(got).toEqual(want);
      }
      expect(await f.deadLetters()).toEqual([]);
    },
  );
});
