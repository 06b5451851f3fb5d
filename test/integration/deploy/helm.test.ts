import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../common/config/load.ts';
import { buildKubeValidator, validateManifests } from '../../env/kube-validator.ts';
import { toolPath } from '../../env/tools.ts';

const chart = resolve(import.meta.dirname, '..', '..', '..', 'helm', 'sluice');
const haValues = join(chart, 'ci', 'ha-values.yaml');
const ownAppsValues = join(chart, 'ci', 'own-apps-values.yaml');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Manifest = any;

function renderText(...args: string[]): string {
  return execFileSync(toolPath('helm'), ['template', 'prod', chart, '--namespace', 'streams', ...args], {
    encoding: 'utf8',
  });
}

function render(...args: string[]): Manifest[] {
  return parseAllDocuments(renderText(...args))
    .map((document) => document.toJS())
    .filter(Boolean);
}

const find = (manifests: Manifest[], kind: string, component?: string) =>
  manifests.filter(
    (m) =>
      m.kind === kind &&
      (component === undefined || m.metadata.labels?.['app.kubernetes.io/component'] === component),
  );
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('helm chart', () => {
  it('passes helm lint --strict with the default, the HA and the own-apps values', () => {
    for (const args of [[], ['-f', haValues], ['-f', ownAppsValues]]) {
      const output = execFileSync(toolPath('helm'), ['lint', '--strict', chart, ...args], {
        encoding: 'utf8',
      });
      expect(output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders manifests that decode strictly into the Kubernetes API types (default, HA, own apps, monitoring on)', () => {
    const validator = buildKubeValidator();
    const monitoring = ['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true'];
    for (const args of [[], ['-f', haValues], ['-f', ownAppsValues], monitoring]) {
      const { valid, output } = validateManifests(validator, renderText(...args));
      expect(output, `helm template ${args.join(' ')}`).toMatch(/^\d+ manifest\(s\) valid$/m);
      expect(valid).toBe(true);
    }
  });

  it('has a validator that refuses a misspelt field, a wrong type, a missing required field and an unknown kind', () => {
    const validator = buildKubeValidator();
    const rendered = renderText();
    const cases: [string, string, RegExp][] = [
      [
        'misspelt probe field',
        rendered.replace('periodSeconds:', 'periodSecond:'),
        /unknown field "periodSecond"/,
      ],
      [
        'port given as a string',
        rendered.replace('containerPort: 8080', 'containerPort: "8080"'),
        /cannot unmarshal string .*\.containerPort of type int32/,
      ],
      [
        'service port without its number',
        'apiVersion: v1\nkind: Service\nmetadata: { name: x }\nspec:\n  ports:\n    - name: http\n',
        /Service\/x: missing required field spec\.ports\[0\]\.port/,
      ],
      [
        'unknown kind',
        'apiVersion: example.com/v1\nkind: Gadget\nmetadata: { name: g }\n',
        /not one this validator knows/,
      ],
    ];
    for (const [what, manifests, problem] of cases) {
      const { valid, output } = validateManifests(validator, manifests);
      expect(valid, what).toBe(false);
      expect(output, what).toMatch(problem);
    }
  });

  it('renders routers that their Service, HPA and PDB select, probed on the router port', () => {
    const manifests = render();
    const [deployment] = find(manifests, 'Deployment', 'router');
    const podLabels = deployment.spec.template.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(selects(find(manifests, 'Service', 'router')[0].spec.selector, podLabels)).toBe(true);
    expect(
      selects(find(manifests, 'PodDisruptionBudget', 'router')[0].spec.selector.matchLabels, podLabels),
    ).toBe(true);
    expect(find(manifests, 'HorizontalPodAutoscaler')[0].spec.scaleTargetRef.name).toBe(
      deployment.metadata.name,
    );
    const container = deployment.spec.template.spec.containers[0];
    expect(container.args).toEqual(['router']);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('renders processors as a StatefulSet of slots x (1 + standbys) with volumes, probes and anti-affinity', () => {
    for (const [args, slots, replicas, rule] of [
      [[], 2, 4, 'requiredDuringSchedulingIgnoredDuringExecution'],
      [['-f', haValues], 3, 9, 'preferredDuringSchedulingIgnoredDuringExecution'],
    ] as const) {
      const manifests = render(...args);
      const [statefulSet] = find(manifests, 'StatefulSet', 'processor');
      const podLabels = statefulSet.spec.template.metadata.labels;
      expect(statefulSet.spec.replicas).toBe(replicas);
      const container = statefulSet.spec.template.spec.containers[0];
      const env = Object.fromEntries(
        container.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
      );
      expect(env).toMatchObject({
        SLUICE_SLOTS: String(slots),
        SLUICE_SLOT: 'auto',
        SLUICE_CLUSTER_ENABLED: 'true',
        SLUICE_STATE_DIR: '/var/lib/sluice',
      });
      expect(
        container.env.find((e: { name: string }) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef,
      ).toBeTruthy();
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.ports).toEqual([{ name: 'http', containerPort: 9090 }]);
      expect(container.volumeMounts).toContainEqual({ name: 'state', mountPath: '/var/lib/sluice' });
      expect(statefulSet.spec.volumeClaimTemplates[0].metadata.name).toBe('state');
      const antiAffinity = statefulSet.spec.template.spec.affinity.podAntiAffinity[rule][0];
      const term = antiAffinity.podAffinityTerm ?? antiAffinity;
      expect(term.topologyKey).toBe('kubernetes.io/hostname');
      expect(selects(term.labelSelector.matchLabels, podLabels)).toBe(true);
      const service = find(manifests, 'Service', 'processor')[0];
      expect(service.spec.clusterIP).toBe('None');
      expect(statefulSet.spec.serviceName).toBe(service.metadata.name);
      expect(selects(service.spec.selector, podLabels)).toBe(true);
    }
  });

  it('wires SASL and TLS from Secrets mounted as files, processor keys, and a ServiceMonitor in the HA values', () => {
    const manifests = render('-f', haValues);
    type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } };
    for (const workload of [find(manifests, 'Deployment', 'router')[0], find(manifests, 'StatefulSet')[0]]) {
      const pod = workload.spec.template.spec;
      const env: Env[] = pod.containers[0].env;
      const value = (name: string) => env.find((e) => e.name === name)?.value;
      expect(value('SLUICE_KAFKA_SASL_PASSWORD_FILE')).toBe('/etc/sluice/kafka-sasl/password');
      expect(value('SLUICE_KAFKA_TLS_CA')).toBe('/etc/sluice/kafka-tls/ca.crt');
      // no secret travels as an environment value
      expect(env.filter((e) => e.valueFrom?.secretKeyRef?.key === 'password')).toEqual([]);
      const volumes = Object.fromEntries(
        pod.volumes.map((v: { name: string; secret?: unknown }) => [v.name, v.secret]),
      );
      expect(volumes['kafka-sasl']).toEqual({
        secretName: 'kafka-credentials',
        items: [{ key: 'password', path: 'password' }],
      });
      expect(volumes['kafka-tls']).toEqual({ secretName: 'kafka-ca' });
      const mounts = pod.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
      expect(mounts).toEqual(expect.arrayContaining(['/etc/sluice/kafka-sasl', '/etc/sluice/kafka-tls']));
    }
    const processorEnv: Env[] = find(manifests, 'StatefulSet')[0].spec.template.spec.containers[0].env;
    expect(processorEnv.find((e) => e.name === 'SLUICE_PROCESSOR_KEYS_FILE')?.value).toBe(
      '/etc/sluice/keys/api-keys.yaml',
    );
    expect(find(manifests, 'ServiceMonitor')).toHaveLength(1);
  });

  it('runs your own app from a ConfigMap, a volume or an image derived FROM sluice', () => {
    const statefulSets = find(render('-f', ownAppsValues), 'StatefulSet', 'processor');
    const pod = (app: string) =>
      statefulSets.find((set: Manifest) => set.metadata.labels['sluice.dev/app'] === app).spec.template.spec;
    const appMount = { name: 'app', mountPath: '/srv/app', readOnly: true };
    const appVolume = (app: string) =>
      pod(app).volumes.find((volume: { name: string }) => volume.name === 'app');

    expect(pod('page-views').containers[0].args).toEqual([
      'processor',
      '--app',
      '/srv/app/app.ts',
      '--app-id',
      'page-views',
    ]);
    expect(pod('page-views').containers[0].volumeMounts).toContainEqual(appMount);
    expect(appVolume('page-views')).toEqual({ name: 'app', configMap: { name: 'page-views-app' } });
    expect(pod('page-views').containers[0].image).toBe(pod('page-views-volume').containers[0].image);

    expect(pod('page-views-volume').containers[0].volumeMounts).toContainEqual(appMount);
    expect(appVolume('page-views-volume')).toEqual({
      name: 'app',
      persistentVolumeClaim: { claimName: 'sluice-apps', readOnly: true },
    });

    expect(pod('page-views-image').containers[0].image).toBe('registry.example.com/page-views:0.1.0');
    expect(appVolume('page-views-image')).toBeUndefined();
    expect(pod('page-views-image').containers[0].volumeMounts).not.toContainEqual(appMount);
  });

  it('refuses an app from both a ConfigMap and a volume, naming the rule', () => {
    const both = readFileSync(ownAppsValues, 'utf8').replace(
      'appConfigMap: page-views-app',
      'appConfigMap: page-views-app\n    appVolume: { emptyDir: {} }',
    );
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-helm-')), 'values.yaml');
    writeFileSync(file, both);
    expect(() => renderText('-f', ownAppsValues)).not.toThrow();
    expect(() =>
      execFileSync(toolPath('helm'), ['template', 'x', chart, '-f', file], { stdio: 'pipe' }),
    ).toThrow(/app page-views has both appConfigMap and appVolume: its module comes from one of them/);
  });

  it('renders a sluice.yaml that sluice itself accepts', () => {
    for (const args of [[], ['-f', haValues]]) {
      const configMap = find(render(...args), 'ConfigMap')[0];
      const file = join(mkdtempSync(join(tmpdir(), 'sluice-helm-')), 'sluice.yaml');
      writeFileSync(file, configMap.data['sluice.yaml']);
      const { config } = loadConfig({
        file,
        env: { KAFKA_BROKERS: 'kafka:9092', SLUICE_SLOTS: '2', SLUICE_SLOT: 'auto' },
      });
      expect(config.streams.Request?.schema).toBe('/app/schemas/Request.avsc');
    }
  });
});
