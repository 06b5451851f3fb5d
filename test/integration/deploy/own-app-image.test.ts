/**
 * Your own app in containers: the sluice image runs an app module mounted from a directory
 * (examples/page-views, importing 'sluice'), and examples/page-views' Dockerfile derives an image
 * of its own (`FROM sluice`) that runs it. Each computes exact page views from the test services.
 * Skipped, with the reason, only where podman cannot run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../env/names.ts';
import {
  buildTestImage,
  podman,
  podmanProblem,
  podmanStatus,
  removeContainers,
  type TestImage,
} from '../../env/podman.ts';
import { testServices } from '../../env/services.ts';
import { freePort } from '../../env/sluice-process.ts';
import { waitFor } from '../../env/wait.ts';
import {
  exampleDir,
  expectedPageViews,
  pageViewsConfig,
  produceClicks,
  readPageViews,
  sortPageViews,
} from '../package/page-views.ts';

const problem = podmanProblem();
if (problem) process.stderr.write(`[own app image tests] skipped: ${problem}\n`);

describe.skipIf(problem !== undefined)(
  `your own app in containers${problem ? ` (skipped: ${problem})` : ''}`,
  () => {
    let image: TestImage;
    const derivedImage = `localhost/page-views:${uniqueName('test')}`;
    const containers: string[] = [];
    const volumes: string[] = [];
    const services = testServices();

    beforeAll(async () => {
      image = await buildTestImage();
      podman(
        [
          'build',
          '--pull=never',
          '--quiet',
          '--build-arg',
          `SLUICE_IMAGE=${image.name}`,
          '-t',
          derivedImage,
          exampleDir,
        ],
        { timeoutMs: 300_000 },
      );
    }, 1_200_000);

    afterAll(() => {
      removeContainers(containers, volumes);
      podman(['rmi', '--force', derivedImage]);
    });

    /**
     * Runs the app in a container on the host network with a config of the test's own topics and
     * app id (mounted at /etc/sluice/test.yaml), sends the clicks and returns what it emitted.
     */
    async function runApp(imageName: string, mounts: string[], command: string[]): Promise<unknown[]> {
      const appId = uniqueName('pv');
      const dir = mkdtempSync(join(tmpdir(), 'sluice-own-app-image-'));
      const config = { ...pageViewsConfig({ appId, schemaDir: '/srv/app/schemas' }), processor: { appId } };
      writeFileSync(join(dir, 'test.yaml'), JSON.stringify(config));
      const port = await freePort();
      const name = `sluice-${appId}`;
      containers.push(name);
      volumes.push(name);
      await produceClicks(`clicks-${appId}`);
      podman([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'host',
        '-e',
        `KAFKA_BROKERS=${services.kafkaBrokers}`,
        '-e',
        `SCHEMA_REGISTRY_URL=${services.schemaRegistryUrl}`,
        '-e',
        'SLUICE_CONFIG=/etc/sluice/test.yaml',
        '-e',
        `SLUICE_PROCESSOR_PORT=${port}`,
        // a named volume (owned by the image's user like the image's directory), removed after
        '-v',
        `${name}:/var/lib/sluice`,
        '-v',
        `${join(dir, 'test.yaml')}:/etc/sluice/test.yaml:ro`,
        ...mounts,
        imageName,
        ...command,
      ]);
      const expected = expectedPageViews();
      const views = await waitFor(
        `${name} to emit every closed window`,
        async () => {
          const written = await readPageViews(`page-views-${appId}`);
          return written.length >= expected.length && written;
        },
        {
          timeoutMs: 90_000,
          intervalMs: 500,
          describe: () => podmanStatus(['logs', '--tail', '20', name]).output,
        },
      );
      podman(['stop', '--time', '30', name]);
      expect(
        podman(['inspect', '--format', '{{.State.ExitCode}}', name]).trim(),
        `${name}'s exit code after SIGTERM; its log ends with:\n${podmanStatus(['logs', '--tail', '30', name]).output}`,
      ).toBe('0');
      return sortPageViews(views);
    }

    it('runs an app module mounted into the sluice image', async () => {
      const views = await runApp(
        image.name,
        ['-v', `${exampleDir}/src:/srv/app/src:ro`, '-v', `${exampleDir}/schemas:/srv/app/schemas:ro`],
        ['processor', '--app', '/srv/app/src/app.ts'],
      );
      expect(views).toEqual(expectedPageViews());
    }, 180_000);

    it("runs the app repository's own image, derived FROM sluice, as its CMD says", async () => {
      const views = await runApp(derivedImage, [], []);
      expect(views).toEqual(expectedPageViews());
    }, 180_000);
  },
);
