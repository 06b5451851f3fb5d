/**
 * Page views per shop, page and minute, emitted when the minute closes (10 s grace). Buys are
 * not views. The event types come from the schemas (`npm run types`), so a schema change that
 * breaks this pipeline does not compile.
 */
import { defineApp, minutes, seconds, stream, tumbling } from 'sluice';
import type { Click, PageViews } from './events.ts';

export default defineApp({
  id: 'page-views',
  source: stream<Click>('Click'),
  pipeline: (clicks) =>
    clicks
      .filter((click) => click.kind === 'view')
      .groupBy('shop', 'page')
      .window(tumbling({ size: minutes(1), grace: seconds(10) }))
      .aggregate((agg) => ({ views: agg.count() }))
      .map(
        ({ key, window, value }): PageViews => ({
          shop: key.shop,
          page: key.page,
          windowStart: window.start,
          views: value.views,
        }),
      )
      .to(stream<PageViews>('PageViews')),
});
