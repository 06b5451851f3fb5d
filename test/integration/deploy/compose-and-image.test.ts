import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toolPath } from '../../env/tools.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');

describe('compose stack and container image (checked without a Docker engine)', () => {
  it('validates the compose file: services, round-robin routers, slots with state volumes, a demo profile', () => {
    const output = execFileSync(
      toolPath('docker-compose'),
      ['-f', 'compose/docker-compose.yml', '--profile', 'demo', '--profile', 'own-app', 'config'],
      {
        cwd: repo,
        encoding: 'utf8',
      },
    );
    const compose = parse(output);
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'generator',
        'kafka',
        'page-views',
        'lb',
        'postgres',
        'processor-slot0-a',
        'processor-slot0-b',
        'processor-slot1-a',
        'processor-slot1-b',
        'registry',
        'router-a',
        'router-b',
      ].sort(),
    );
    for (const slot of ['slot0-a', 'slot0-b', 'slot1-a', 'slot1-b']) {
      const service = compose.services[`processor-${slot}`];
      expect(service.command).toEqual(['processor', '--slot', slot[4]]);
      // docker-compose 1.x prints short syntax (source:target:mode), 2.x objects
      const volumes = service.volumes.map((v: string | { source: string; target: string }) =>
        typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`,
      );
      expect(volumes).toContain(`state-${slot}:/var/lib/sluice`);
    }
    expect(compose.services.generator.profiles).toEqual(['demo']);
    // your own app: the example mounted where its command and config look for it
    const ownApp = compose.services['page-views'];
    expect(ownApp.profiles).toEqual(['own-app']);
    expect(ownApp.command).toEqual(['processor', '--app', '/srv/app/src/app.ts']);
    expect(ownApp.environment.SLUICE_CONFIG).toBe('/srv/app/sluice.yaml');
    const ownAppMounts = ownApp.volumes.map((v: string | { source: string; target: string }) =>
      typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`,
    );
    expect(ownAppMounts).toContain(`${resolve(repo, 'examples', 'page-views')}:/srv/app`);
    expect(compose.services.router_a).toBeUndefined();
  });

  it('passes hadolint', () => {
    expect(() =>
      execFileSync(toolPath('hadolint'), ['Dockerfile'], { cwd: repo, encoding: 'utf8' }),
    ).not.toThrow();
  });
});
