/**
 * One TLS handshake with the brokers before kafkajs connects. kafkajs treats a failed handshake
 * like an unreachable broker and retries it for seconds, then reports "unreachable"; a certificate
 * problem never heals by retrying, so it stops the start here, saying which certificate and why.
 */
import { connect, type TLSSocket } from 'node:tls';
import { SluiceError } from '../errors.ts';
import type { KafkaConnection } from './types.ts';

/** Node's codes for certificates that do not verify (see `tls` and OpenSSL's X509_V_ERR_*). */
const certificateCodes =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_SSL_TLSV1_ALERT|ERR_SSL_SSLV3_ALERT|HOSTNAME/;

function advice(code: string): string {
  if (/EXPIRED|NOT_YET_VALID/.test(code)) return "the broker's certificate is outside its validity dates";
  if (/ALTNAME|HOSTNAME/.test(code)) return "the broker's certificate does not name the host we connect to";
  if (/ALERT/.test(code))
    return 'the broker refused our client certificate: check kafka.tls.cert and kafka.tls.key (signed by a CA the broker trusts, not expired)';
  return "the broker's certificate is not signed by a CA we trust: set kafka.tls.ca to the CA bundle that signed it";
}

function handshake(host: string, port: number, tls: NonNullable<KafkaConnection['tls']>, timeoutMs: number) {
  return new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    let socket: TLSSocket | undefined;
    const done = (error?: NodeJS.ErrnoException) => {
      socket?.destroy();
      resolve(error);
    };
    socket = connect({ host, port, servername: /^[\d.]+$/.test(host) ? undefined : host, ...tls });
    socket.setTimeout(timeoutMs, () => done());
    socket.once('secureConnect', () => done());
    socket.once('error', (error) => done(error));
  });
}

/** Throws KAFKA_TLS_FAILED when a broker's handshake fails on certificates; other failures are kafkajs's to retry. */
export async function checkBrokerCertificates(connection: KafkaConnection): Promise<void> {
  if (!connection.tls) return;
  for (const broker of connection.brokers) {
    const separator = broker.lastIndexOf(':');
    const host = broker.slice(0, separator);
    const error = await handshake(
      host,
      Number(broker.slice(separator + 1)),
      connection.tls,
      connection.connectionTimeoutMs ?? 3000,
    );
    if (error === undefined) return;
    const code = error.code ?? '';
    if (certificateCodes.test(code)) {
      throw new SluiceError(
        'KAFKA_TLS_FAILED',
        `the TLS handshake with Kafka broker ${broker} failed (${code}: ${error.message}); ${advice(code)}`,
        { cause: error },
      );
    }
  }
}
