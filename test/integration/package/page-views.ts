/**
 * Input and expected output of the example app (examples/page-views: views per shop, page and
 * minute, 10 s grace, buys are not views), for the tests that run it as a user would: from the
 * installed package and from container images. Clicks go to one partition, in time order, and a
 * last click two minutes later closes every window before its own.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSchemaRegistryClient } from '../../../schemas/registry.ts';
import { readAll, testKafka } from '../../env/clients.ts';
import { testServices } from '../../env/services.ts';

export const exampleDir = resolve(import.meta.dirname, '..', '..', '..', 'examples', 'page-views');
export const clickSchema = JSON.parse(readFileSync(join(exampleDir, 'schemas', 'Click.avsc'), 'utf8'));

export interface Click {
  shop: string;
  page: string;
  kind: 'view' | 'buy';
  at: number;
  referrer: string | null;
}

export interface PageViews {
  shop: string;
  page: string;
  windowStart: number;
  views: number;
}

const minute = 60_000;
const start = Date.UTC(2026, 0, 1, 12, 0, 0);
const lastClickAt = start + 4 * minute;

export const clicks: Click[] = [
  ...Array.from(
    { length: 40 },
    (_, i): Click => ({
      shop: `shop-${i % 3}.example.com`,
      page: `/p/${i % 4}`,
      kind: i % 5 === 0 ? 'buy' : 'view',
      at: start + Math.floor(i / 20) * minute + (i % 20) * 1000,
      referrer: i % 2 === 0 ? null : 'https://search.example.com',
    }),
  ),
  { shop: 'shop-0.example.com', page: '/p/0', kind: 'view', at: lastClickAt, referrer: null },
];

/** A plain count of views per shop, page and minute, for the minutes the last click closed. */
export function expectedPageViews(): PageViews[] {
  const counts = new Map<string, PageViews>();
  for (const click of clicks) {
    const windowStart = Math.floor(click.at / minute) * minute;
    if (click.kind !== 'view' || windowStart + minute + 10_000 > lastClickAt) continue;
    const key = JSON.stringify([click.shop, click.page, windowStart]);
    const entry = counts.get(key) ?? { shop: click.shop, page: click.page, windowStart, views: 0 };
    entry.views++;
    counts.set(key, entry);
  }
  return sortPageViews([...counts.values()]);
}

export const sortPageViews = (views: PageViews[]): PageViews[] =>
  [...views].sort(
    (a, b) => a.shop.localeCompare(b.shop) || a.page.localeCompare(b.page) || a.windowStart - b.windowStart,
  );

/** The config of a test's own run of the app: its topics, one partition each. */
export function pageViewsConfig(options: {
  appId: string;
  schemaDir: string;
  stateDir?: string;
}): Record<string, unknown> {
  const stream = (topic: string, schema: string, eventTime: string) => ({
    topic: `${topic}-${options.appId}`,
    schema: join(options.schemaDir, schema),
    partitionKey: 'shop',
    eventTime,
    partitions: 1,
  });
  return {
    streams: {
      Click: stream('clicks', 'Click.avsc', 'at'),
      PageViews: stream('page-views', 'PageViews.avsc', 'windowStart'),
    },
    ...(options.stateDir ? { processor: { stateDir: options.stateDir } } : {}),
  };
}

/** What the app wrote to its output topic so far (read_committed), decoded. */
export async function readPageViews(topic: string): Promise<PageViews[]> {
  const services = testServices();
  const records = await readAll(testKafka(services.kafkaBrokers), topic);
  const registry = createSchemaRegistryClient(services.schemaRegistryUrl);
  return Promise.all(records.map(async (record) => (await registry.decode(record.value!)) as PageViews));
}

/** Sends the clicks to the app's input topic (Avro, the registry's wire format), keyed by shop. */
export async function produceClicks(topic: string): Promise<void> {
  const services = testServices();
  const kafka = testKafka(services.kafkaBrokers);
  const admin = await kafka.connectAdmin();
  await admin.ensureTopics([{ topic, partitions: 1 }]);
  await admin.disconnect();
  const registry = createSchemaRegistryClient(services.schemaRegistryUrl);
  const schemaId = await registry.register(`${topic}-value`, clickSchema);
  const producer = await kafka.createProducer();
  const values = await Promise.all(clicks.map((click) => registry.encode(schemaId, click)));
  await producer.send(clicks.map((click, index) => ({ topic, key: click.shop, value: values[index]! })));
  await producer.disconnect();
}
