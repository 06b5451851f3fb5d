import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { runSluice } from '../../env/sluice-process.ts';
import { createRouterFixture, type RouterFixture } from '../router/router-fixture.ts';

const events = (count: number, seed = 12) =>
  takeRequests({ seed, tenants: 20, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 10 }, count);

describe('sluice produce', () => {
  let fixture: RouterFixture;
  let routers: string[];
  beforeAll(async () => {
    fixture = await createRouterFixture();
    routers = (
      await Promise.all([fixture.startRouter({ name: 'a' }), fixture.startRouter({ name: 'b' })])
    ).map((r) => r.url);
  });
  afterAll(async () => fixture?.cleanup());

  const produce = (args: string[], input?: string) => runSluice(['produce', ...args, '--json'], { input });

  it('sends an NDJSON file, a JSON array file and standard input through a router', async () => {
    const ndjson = join(fixture.dir, 'events.ndjson');
    writeFileSync(
      ndjson,
      events(300, 1)
        .map((event) => JSON.stringify(event))
        .join('\n'),
    );
    const array = join(fixture.dir, 'events.json');
    writeFileSync(array, JSON.stringify(events(200, 2)));

    const fromNdjson = await produce(['--file', ndjson, '--router', routers[0]!]);
    expect(fromNdjson.code).toBe(0);
    expect(JSON.parse(fromNdjson.stdout)).toMatchObject({
      sent: 300,
      accepted: 300,
      unexpectedRejections: 0,
    });
    expect(JSON.parse((await produce(['--file', array, '--router', routers[0]!])).stdout).accepted).toBe(200);
    const stdin = await produce(
      ['--file', '-', '--router', routers[1]!],
      events(50, 3)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
    expect(JSON.parse(stdin.stdout).accepted).toBe(50);
    expect(await fixture.records()).toHaveLength(550);
  });

  it('generates seed events through two routers; invalid ones are rejected as expected, counted by reason', async () => {
    const before = (await fixture.records()).length;
    const result = await produce([
      '--generate',
      '--count',
      '2000',
      '--invalid-share',
      '0.05',
      '--late-share',
      '0.01',
      '--seed',
      '7',
      '--router',
      routers[0]!,
      '--router',
      routers[1]!,
      '--batch',
      '50',
    ]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.sent).toBe(2000);
    expect(summary.unexpectedRejections).toBe(0);
    expect(summary.expectedRejections).toBeGreaterThan(50);
    expect(summary.accepted + summary.expectedRejections).toBe(2000);
    expect(summary.rejected).toEqual({ '422 Invalid events': summary.expectedRejections });
    expect((await fixture.records()).length - before).toBe(summary.accepted);
  });

  it('sends straight to Kafka with the schema encoding', async () => {
    const before = (await fixture.records()).length;
    const result = await produce([
      '--generate',
      '--count',
      '1000',
      '--kafka',
      '--config',
      fixture.configFile,
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ sent: 1000, accepted: 1000 });
    expect((await fixture.records()).length - before).toBe(1000);
  });

  it('exits non-zero when events are rejected unexpectedly, saying why', async () => {
    const bad = join(fixture.dir, 'bad.ndjson');
    writeFileSync(
      bad,
      [JSON.stringify(events(1)[0]), JSON.stringify({ ...events(1)[0], responseTime: 'x' })].join('\n'),
    );
    const result = await produce(['--file', bad, '--router', routers[0]!]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      sent: 2,
      accepted: 0,
      unexpectedRejections: 2,
      rejected: { '422 Invalid events': 2 },
    });
  });
});
