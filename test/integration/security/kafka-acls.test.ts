/**
 * The Kafka ACLs SECURITY.md lists, checked on a broker with an authorizer: a router, a processor
 * (exactly-once, active + standby) and the reset tool, each under its own SCRAM user holding only
 * its role's ACLs, do their whole job; the router's user cannot read what it writes.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSettings } from '../../../dev/settings.ts';
import { takeRequests } from '../../../schemas/request-generator.ts';
import { type SecureKafka, startSecureKafka } from '../../env/secure-kafka.ts';
import { testServices } from '../../env/services.ts';
import { freePort, runSluice, startSluice, stopAllSluice } from '../../env/sluice-process.ts';
import { createAnalyticsFixture } from '../processor/fixture.ts';
import { expectedStats, sortStats } from '../processor/reference.ts';

type Acl = [
  resource: 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID',
  pattern: 'LITERAL' | 'PREFIXED',
  name: string,
  operations: string[],
];

/** SECURITY.md's ACLs for one app (its source and sink topics), per role. */
function aclsFor(app: string, source: string, sink: string): Record<'router' | 'processor' | 'admin', Acl[]> {
  return {
    // the router checks (and creates when missing) every stream's topic of its config
    router: [
      ['TOPIC', 'LITERAL', source, ['DESCRIBE', 'WRITE', 'CREATE']],
      ['TOPIC', 'LITERAL', sink, ['DESCRIBE', 'CREATE']],
    ],
    processor: [
      ['TOPIC', 'LITERAL', source, ['DESCRIBE', 'READ']],
      ['TOPIC', 'LITERAL', sink, ['DESCRIBE', 'WRITE', 'CREATE']],
      ['TOPIC', 'PREFIXED', `${app}-`, ['DESCRIBE', 'READ', 'WRITE', 'CREATE']],
      ['GROUP', 'LITERAL', app, ['DESCRIBE', 'READ']],
      ['TRANSACTIONAL_ID', 'PREFIXED', `${app}-`, ['DESCRIBE', 'WRITE']],
    ],
    admin: [
      // kafkajs rewinds a group's offsets through a consumer of that group, which fetches the source
      ['TOPIC', 'LITERAL', source, ['DESCRIBE', 'READ']],
      ['TOPIC', 'PREFIXED', `${app}-`, ['DESCRIBE', 'DELETE']],
      ['GROUP', 'LITERAL', app, ['DESCRIBE', 'READ']],
    ],
  };
}

async function createAcls(bootstrap: string, grants: [principal: string, acls: Acl[]][]): Promise<void> {
  const services = testServices();
  const libs = join(
    services.cacheDir ?? devSettings().cacheDir,
    `kafka-${services.kafkaVersionForPrivateBrokers}`,
    'libs',
  );
  const bindings = grants.flatMap(([principal, acls]) =>
    acls.flatMap(([resource, pattern, name, operations]) =>
      operations.map((operation) => `User:${principal},${resource},${pattern},${name},${operation}`),
    ),
  );
  await promisify(execFile)('java', [
    '-cp',
    `${libs}/*`,
    join(import.meta.dirname, 'Acls.java'),
    bootstrap,
    ...bindings,
  ]);
}

let kafka: SecureKafka;
beforeAll(async () => {
  kafka = await startSecureKafka({ users: ['router', 'processor', 'admin'], authorizer: true });
}, 180_000);
afterAll(async () => {
  await stopAllSluice();
  await kafka?.destroy();
});

describe('Kafka ACLs per role', () => {
  it('are enough for a router, an exactly-once processor with a standby, and the reset tool', async () => {
    const fixture = await createAnalyticsFixture({ kafkaBrokers: kafka.plaintextBrokers, slots: 1 });
    try {
      const acls = aclsFor(fixture.appId, fixture.inputTopic, fixture.outputTopic);
      await createAcls(kafka.plaintextBrokers, [
        ['router', acls.router],
        ['processor', acls.processor],
        ['admin', acls.admin],
      ]);
      const as = (user: string) => ({
        KAFKA_BROKERS: kafka.saslBrokers,
        SLUICE_KAFKA_TLS_CA: kafka.certificates.caCert,
        SLUICE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        SLUICE_KAFKA_SASL_USERNAME: user,
        SLUICE_KAFKA_SASL_PASSWORD_FILE: kafka.passwordFile,
      });

      const active = await fixture.startProcessor({ name: 'active', slot: 0, env: as('processor') });
      const standby = await fixture.startProcessor({ name: 'standby', slot: 0, env: as('processor') });
      const port = await freePort();
      const router = await startSluice(
        ['router', '--config', fixture.configFile, '--no-auth', '--port', String(port)],
        {
          name: 'router',
          env: as('router'),
          readyUrl: `http://127.0.0.1:${port}/readyz`,
        },
      );
      const events = takeRequests(
        { seed: 21, tenants: 10, apis: 3, startTime: Date.UTC(2026, 0, 1), stepMs: 50, jitterMs: 2000 },
        2000,
      );
      const response = await fetch(`http://127.0.0.1:${port}/v1/streams/Request/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      expect(response.status, await response.text()).toBe(202);
      await fixture.waitCaughtUp();
      const expected = expectedStats(await fixture.inputRecords());
      expect(expected.stats.length).toBeGreaterThan(30);
      expect(sortStats(await fixture.outputStats())).toEqual(expected.stats);
      expect(await router.stop()).toBe(0);
      expect(await standby.stop()).toBe(0);
      expect(await active.stop()).toBe(0);

      // the router's user writes the source but may not read it as the app
      const intruder = await runSluice(
        ['status', '--app', fixture.appId, '--config', fixture.configFile, '--no-database'],
        { env: as('router') },
      );
      expect(intruder.code).toBe(1);
      expect(intruder.stderr).toMatch(/lacks Describe on the group: see the ACLs in SECURITY\.md/);

      const reset = await runSluice(['reset', '--app', fixture.appId, '--config', fixture.configFile], {
        env: as('admin'),
      });
      expect(reset.stderr, reset.stdout).toBe('');
      expect(reset.code, reset.stdout).toBe(0);
      expect(await fixture.admin.listTopics()).not.toContain(fixture.changelogTopic);
      expect(
        (await fixture.admin.committedOffsets(fixture.appId, fixture.inputTopic)).map((e) => e.offset),
      ).toEqual(Array(4).fill('0'));
    } finally {
      await fixture.cleanup();
    }
  }, 300_000);
});
