/**
 * The page-views app, tested in-process with sluice's test driver: no Kafka, the processor's own
 * windows, grace and dead letters.
 */
import { fileURLToPath } from 'node:url';
import { createTestDriver } from 'sluice/testing';
import { describe, expect, it } from 'vitest';
import app from '../src/app.ts';
import type { Click, PageViews } from '../src/events.ts';

const config = fileURLToPath(new URL('../sluice.yaml', import.meta.url));
const minute = 60_000;
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const click = (shop: string, page: string, at: number, kind: Click['kind'] = 'view'): Click => ({
  shop,
  page,
  kind,
  at,
  referrer: null,
});

describe('page-views', () => {
  it('counts the views of each page per minute once the minute and its grace are over; buys are not views', async () => {
    const driver = await createTestDriver(app, { config });
    await driver.pipe([
      click('a.example.com', '/home', t0 + 1_000),
      click('a.example.com', '/home', t0 + 20_000),
      click('a.example.com', '/cart', t0 + 30_000, 'buy'),
      click('a.example.com', '/cart', t0 + 40_000),
    ]);
    expect(driver.output()).toEqual([]); // the minute is still open

    await driver.pipe([click('a.example.com', '/home', t0 + minute + 10_000)]); // end + grace reached
    expect(driver.output<PageViews>()).toEqual([
      { shop: 'a.example.com', page: '/home', windowStart: t0, views: 2 },
      { shop: 'a.example.com', page: '/cart', windowStart: t0, views: 1 },
    ]);
    // the next minute is open: it is in the store, not in the output
    expect(await driver.store()).toEqual([
      {
        key: { shop: 'a.example.com', page: '/home' },
        state: { windows: [{ start: t0 + minute, end: t0 + 2 * minute, value: { views: 1 } }] },
      },
    ]);
    await driver.close();
  });

  it('sends a click for a closed minute to the dead letters, with the reason', async () => {
    const driver = await createTestDriver(app, { config });
    await driver.pipe([click('b.example.com', '/home', t0 + 5 * minute)]);
    await driver.pipe([click('b.example.com', '/home', t0)]);
    expect(driver.deadLetters()).toEqual([expect.objectContaining({ stage: 'late', key: 'b.example.com' })]);
    await driver.close();
  });
});
