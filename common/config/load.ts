/**
 * Loads the configuration: defaults → file (YAML or JSON) → environment → flags, validated
 * whole (every problem reported at once, each naming its setting) and then frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SluiceError } from '../errors.ts';
import { environmentOverrides } from './env.ts';
import { configSchema, type SluiceConfig } from './schema.ts';
import { resolveSecrets, type Secrets } from './secrets.ts';

export interface ConfigOverride {
  path: string[];
  value: unknown;
}

export interface ConfigSources {
  /** Explicit file (--config); else $SLUICE_CONFIG; else ./sluice.yaml when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** From command-line flags; applied last. */
  overrides?: readonly ConfigOverride[];
}

export interface LoadedConfig {
  config: SluiceConfig;
  /** Paths in the config (schema files, key files) are relative to this directory. */
  baseDir: string;
  file?: string;
  /** What the secret files named in the config hold; never logged. */
  secrets: Secrets;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function readFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new SluiceError('CONFIG_INVALID', `config file ${file} does not exist`);
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `config file ${file} is not valid YAML/JSON: ${(error as Error).message}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `config file ${file} must hold a mapping of sections (kafka, streams, ...)`,
    );
  }
  return parsed as Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? process.env;
  const candidate =
    sources.file ?? env.SLUICE_CONFIG ?? (existsSync('sluice.yaml') ? 'sluice.yaml' : undefined);
  const file = candidate === undefined ? undefined : resolve(candidate);
  const raw = file ? readFile(file) : {};

  for (const { name, path, parse } of environmentOverrides) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, parse(value));
  }
  for (const { path, value } of sources.overrides ?? []) {
    if (value !== undefined) setPath(raw, path, value);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `  ${where}: ${issue.message}`;
    });
    throw new SluiceError(
      'CONFIG_INVALID',
      `invalid configuration${file ? ` in ${file}` : ''} (after environment and flags):\n${problems.join('\n')}`,
    );
  }
  const config = deepFreeze(result.data);
  const baseDir = file ? dirname(file) : process.cwd();
  return { config, baseDir, file, secrets: resolveSecrets(config, baseDir) };
}
