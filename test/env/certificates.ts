/**
 * A throwaway certificate authority for tests, made with Debian's `openssl` and the JDK's `keytool`:
 * a broker certificate for 127.0.0.1/localhost (PKCS12 keystore and truststore for Kafka), a
 * client certificate for mutual TLS, an expired client certificate, and a second, untrusted CA.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../dev/processes.ts';

export interface TestCertificates {
  dir: string;
  /** PEM files for sluice. */
  caCert: string;
  clientCert: string;
  clientKey: string;
  expiredClientCert: string;
  expiredClientKey: string;
  /** A CA that signed nothing the broker presents. */
  otherCaCert: string;
  /** The broker's PEM certificate (127.0.0.1, localhost) and key: HTTPS tests reuse them. */
  brokerCert: string;
  brokerKey: string;
  /** Java stores for the broker. */
  brokerKeystore: string;
  truststore: string;
  storePassword: string;
}

const openssl = (args: string[], what: string, cwd: string) => runCommand('openssl', args, { cwd, what });

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`].concat(
      ['-days', '2', '-subj', `/CN=${name}`],
    ),
    `making the test CA ${name}`,
    dir,
  );
}

/** Signs a new key's certificate with the CA through `openssl ca`, which (unlike `x509 -req`) takes exact dates. */
async function issue(
  dir: string,
  name: string,
  options: { subject: string; startDate: string; endDate: string; altNames?: string },
): Promise<void> {
  await openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      options.subject,
    ],
    `making the key of ${name}`,
    dir,
  );
  const extensions = options.altNames ? `subjectAltName=${options.altNames}\n` : '';
  writeFileSync(join(dir, `${name}.ext`), extensions || 'basicConstraints=CA:FALSE\n');
  await openssl(
    ['ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.crt`, '-notext'].concat([
      '-startdate',
      options.startDate,
      '-enddate',
      options.endDate,
      '-extfile',
      `${name}.ext`,
    ]),
    `signing the certificate of ${name}`,
    dir,
  );
}

/** openssl's date form (UTC): YYYYMMDDHHMMSSZ. */
const opensslDate = (time: number) => `${new Date(time).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  mkdirSync(join(dir, 'issued'), { recursive: true });
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'dir = .',
      'database = index.txt',
      'serial = serial',
      'new_certs_dir = issued',
      'certificate = ca.crt',
      'private_key = ca.key',
      'default_md = sha256',
      'policy = anything',
      'unique_subject = no',
      'copy_extensions = none',
      '[anything]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const now = Date.now();
  const hour = 3_600_000;
  const valid = { startDate: opensslDate(now - hour), endDate: opensslDate(now + 24 * hour) };
  await issue(dir, 'broker', { subject: '/CN=localhost', ...valid, altNames: 'IP:127.0.0.1,DNS:localhost' });
  await issue(dir, 'client', { subject: '/CN=sluice', ...valid });
  await issue(dir, 'expired-client', {
    subject: '/CN=sluice-expired',
    startDate: opensslDate(now - 48 * hour),
    endDate: opensslDate(now - 24 * hour),
  });

  const storePassword = 'test-store-password';
  await openssl(
    ['pkcs12', '-export', '-in', 'broker.crt', '-inkey', 'broker.key', '-certfile', 'ca.crt'].concat([
      '-name',
      'broker',
      '-out',
      'broker.p12',
      '-passout',
      `pass:${storePassword}`,
    ]),
    'packing the broker keystore',
    dir,
  );
  // keytool, not openssl: Java only trusts PKCS12 entries marked as trusted certificates
  await runCommand(
    'keytool',
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.crt', '-keystore', 'truststore.p12'].concat([
      '-storetype',
      'PKCS12',
      '-storepass',
      storePassword,
    ]),
    { cwd: dir, what: 'making the broker truststore' },
  );
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at('ca.crt'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    expiredClientCert: at('expired-client.crt'),
    expiredClientKey: at('expired-client.key'),
    otherCaCert: at('other-ca.crt'),
    brokerCert: at('broker.crt'),
    brokerKey: at('broker.key'),
    brokerKeystore: at('broker.p12'),
    truststore: at('truststore.p12'),
    storePassword,
  };
}
