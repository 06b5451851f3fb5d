/**
 * Reads the secrets the config points at (TLS files, password and token files) once, at start,
 * and reports every missing, unreadable, empty or unusable file at once, each under its setting.
 * The config itself keeps only the paths, so nothing that logs or prints it leaks a secret.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SluiceError } from '../errors.ts';
import type { SluiceConfig, TlsSettings } from './schema.ts';

/** TLS material as Node's `tls.connect` takes it. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export interface Secrets {
  kafka: {
    tls?: TlsMaterial;
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  };
  /** The registry's `Authorization` header value, when it needs one. */
  registryAuthorization?: string;
  database: { password?: string; tls?: TlsMaterial };
  /** Certificates the routers' and processors' HTTP servers present (HTTPS), when set. */
  routerHttps?: ServerTls;
  processorHttps?: ServerTls;
}

export interface ServerTls {
  cert: string;
  key: string;
}

class Problems {
  readonly found: string[] = [];

  private readonly baseDir: string;
  private readonly now: number;

  constructor(baseDir: string, now: number) {
    this.baseDir = baseDir;
    this.now = now;
  }

  /** The file's text, or undefined (and a problem naming the setting) when it cannot be used. */
  read(setting: string, file: string | undefined): string | undefined {
    if (file === undefined) return undefined;
    const path = resolve(this.baseDir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code;
      this.found.push(`  ${setting}: ${path} ${why}`);
      return undefined;
    }
    if (text.trim() === '') {
      this.found.push(`  ${setting}: ${path} is empty`);
      return undefined;
    }
    return text;
  }

  /** A password or token file: its content without the trailing newline editors and `echo` add. */
  secret(setting: string, file: string | undefined): string | undefined {
    return this.read(setting, file)?.replace(/\r?\n$/, '');
  }

  tls(section: string, settings: TlsSettings): TlsMaterial | undefined {
    const enabled = settings.enabled ?? [settings.ca, settings.cert, settings.key].some(Boolean);
    if (!enabled) return undefined;
    const material: TlsMaterial = {
      ca: this.read(`${section}.ca`, settings.ca),
      cert: this.read(`${section}.cert`, settings.cert),
      key: this.read(`${section}.key`, settings.key),
      rejectUnauthorized: settings.rejectUnauthorized,
    };
    if (material.ca !== undefined && !material.ca.includes('-----BEGIN CERTIFICATE-----')) {
      this.found.push(`  ${section}.ca: ${settings.ca} holds no PEM certificate`);
    }
    if (material.cert !== undefined) this.checkCertificate(section, settings, material);
    return material;
  }

  server(section: string, settings: { cert: string; key: string } | undefined): ServerTls | undefined {
    if (!settings) return undefined;
    const material = this.tls(section, { ...settings, rejectUnauthorized: true });
    return material?.cert && material.key ? { cert: material.cert, key: material.key } : undefined;
  }

  /** An expired or mismatched client certificate is refused here, not by a broker's terse alert. */
  private checkCertificate(section: string, settings: TlsSettings, material: TlsMaterial): void {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(material.cert!);
    } catch {
      this.found.push(`  ${section}.cert: ${settings.cert} holds no PEM certificate`);
      return;
    }
    const validTo = Date.parse(certificate.validTo);
    const validFrom = Date.parse(certificate.validFrom);
    if (validTo < this.now) {
      this.found.push(
        `  ${section}.cert: ${settings.cert} (${certificate.subject.replaceAll('\n', ', ')}) expired on ${new Date(validTo).toISOString()}: renew it`,
      );
    } else if (validFrom > this.now) {
      this.found.push(
        `  ${section}.cert: ${settings.cert} is not valid before ${new Date(validFrom).toISOString()}`,
      );
    }
    if (material.key === undefined) return;
    try {
      if (!certificate.checkPrivateKey(createPrivateKey(material.key))) {
        this.found.push(`  ${section}.key: ${settings.key} is not the key of ${settings.cert}`);
      }
    } catch {
      this.found.push(`  ${section}.key: ${settings.key} holds no unencrypted PEM private key`);
    }
  }
}

export function resolveSecrets(config: SluiceConfig, baseDir: string, now = Date.now()): Secrets {
  const problems = new Problems(baseDir, now);
  const { kafka, registry, database } = config;

  const sasl = kafka.sasl
    ? {
        mechanism: kafka.sasl.mechanism,
        username: kafka.sasl.username,
        password: kafka.sasl.password ?? problems.secret('kafka.sasl.passwordFile', kafka.sasl.passwordFile),
      }
    : undefined;

  let registryAuthorization: string | undefined;
  const auth = registry.auth;
  if (auth?.type === 'basic') {
    const password = auth.password ?? problems.secret('registry.auth.passwordFile', auth.passwordFile) ?? '';
    registryAuthorization = `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`;
  } else if (auth?.type === 'bearer') {
    registryAuthorization = `Bearer ${auth.token ?? problems.secret('registry.auth.tokenFile', auth.tokenFile) ?? ''}`;
  }

  const secrets: Secrets = {
    kafka: {
      tls: problems.tls('kafka.tls', { ...kafka.tls, enabled: kafka.tls.enabled ?? kafka.ssl }),
      sasl: sasl?.password === undefined ? undefined : { ...sasl, password: sasl.password },
    },
    registryAuthorization,
    routerHttps: problems.server('router.tls', config.router.tls),
    processorHttps: problems.server('processor.http.tls', config.processor.http.tls),
    database: {
      // node-postgres reads $PGPASSWORD itself when neither the URL nor this sets one
      password: problems.secret('database.passwordFile', database.passwordFile),
      tls: problems.tls('database.tls', database.tls),
    },
  };
  if (problems.found.length > 0) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `secret files named in the configuration cannot be used (paths are relative to ${baseDir}):\n${problems.found.join('\n')}`,
    );
  }
  return secrets;
}
