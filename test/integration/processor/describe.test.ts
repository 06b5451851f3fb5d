import { describe, expect, it } from 'vitest';
import { runSluice } from '../../env/sluice-process.ts';

describe('sluice describe', () => {
  it('prints the sub-topologies of an app with the repository config, as text and as a Mermaid picture', async () => {
    const text = await runSluice(['describe', '--app', 'apps/api-usage.ts', '--config', 'sluice.yaml']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('app api-usage: 2 sub-topologies');
    expect(text.stdout).toContain('  writes repartition: api-usage-by-api-repartition');
    expect(text.stdout).toContain('  inputs: api-usage-by-api-repartition');
    expect(text.stdout).toContain('store by-api, changelog api-usage-by-api-changelog');
    const picture = await runSluice(['describe', '--app', 'apps/api-usage.ts', '--format', 'mermaid']);
    expect(picture.stdout.split('\n')[0]).toBe('flowchart LR');
    expect(picture.stdout).toContain('-. repartition .->');
  });

  it('refuses an unknown format and names the app problem otherwise', async () => {
    const format = await runSluice(['describe', '--app', 'apps/api-usage.ts', '--format', 'png']);
    expect(format.code).not.toBe(0);
    expect(format.stderr).toContain("argument 'png' is invalid");
    const missing = await runSluice(['describe', '--app', 'apps/nowhere.ts']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot load app module apps/nowhere.ts');
  });
});
