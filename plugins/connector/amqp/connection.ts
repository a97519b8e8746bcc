/**
 * Opening one AMQP connection to one pool host: plain or TLS (CA, client certificate and key from the
 * pool host, `ssl.verify`), bounded by `connect_timeout`, abortable, with failures explained
 * (which TLS side refused, credentials, vhost) as ConnectionError.
 */
import type { ConnectionOptions } from 'node:tls';
import amqp, { type ChannelModel, type Options } from 'amqplib';
import { ConnectionError } from '../../../src/errors.js';
import type { PoolHost } from '../pool/options.js';
import { tlsOptionsFor } from '../pool/tls.js';
import type { AmqpOptions } from './options.js';

/** Opens the AMQP connection, with TLS when the host asks for it; bounded by connect_timeout. */
export async function openConnection(host: PoolHost, how: { options: AmqpOptions; identity: string; signal: AbortSignal }): Promise<ChannelModel> {
  const { options, identity, signal } = how;
  const address: Options.Connect = {
    protocol: host.ssl ? 'amqps' : 'amqp',
    hostname: host.host,
    port: host.port,
    username: host.user ?? 'guest',
    password: host.password ?? 'guest',
    vhost: options.vhost,
    heartbeat: Math.round(options.heartbeatMs / 1000),
  };
  const socket: Record<string, unknown> = {
    timeout: options.connectTimeoutMs,
    clientProperties: { connection_name: `tscollective ${identity}` },
  };
  if (host.ssl) {
    const tls: ConnectionOptions = tlsOptionsFor(host);
    if (!options.sslVerify) tls.rejectUnauthorized = false;
    Object.assign(socket, tls);
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let abandoned = false;
  const attempt = amqp.connect(address, socket);
  // A connection that completes after we gave up must not leak.
  attempt.then((model) => (abandoned ? model.close().catch(() => undefined) : undefined), () => undefined);
  try {
    return await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConnectionError(`no AMQP handshake within ${options.connectTimeoutMs / 1000} s (connect_timeout)`)), options.connectTimeoutMs);
        onAbort = () => reject(new ConnectionError('connector closed'));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (error) {
    abandoned = true;
    throw explainConnectFailure(host, error, options.vhost);
  } finally {
    clearTimeout(timer);
    // One listener per attempt would pile up on the connector's signal over a long outage.
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** A ConnectionError saying what most likely went wrong (TLS, credentials, vhost, refused); failover prefixes the host. */
export function explainConnectFailure(host: PoolHost, error: unknown, vhost: string): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const failure = (error ?? {}) as { message?: string; code?: string; reason?: string };
  const code = failure.code ?? '';
  // OpenSSL messages carry file names and line numbers; its `reason` is the readable part.
  const text = code.startsWith('ERR_SSL') && failure.reason ? failure.reason : (failure.message ?? String(error));
  let hint = '';
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (host.ssl && !host.sslCert && /ECONNRESET|socket hang up|handshake/i.test(`${code} ${text}`))) {
    hint = 'TLS handshake failed: the broker requires a client certificate: set plugin.amqp.ssl.cert and ssl.key';
  } else if (/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|ALERT_DECRYPT_ERROR/.test(code)) {
    hint = 'TLS handshake failed: the broker does not accept the client certificate (ssl.cert): is it issued by the CA the broker trusts?';
  } else if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(code)) {
    hint = `TLS handshake failed: the broker's certificate is not trusted: does ssl.ca hold the CA that signed it, and does it name ${host.host}?`;
  } else if (host.ssl && /ERR_SSL|alert|handshake/i.test(`${code} ${text}`)) {
    hint = 'TLS handshake failed: check ssl.ca, ssl.cert and ssl.key against the broker\'s TLS settings';
  } else if (/ACCESS_REFUSED|403/.test(text)) {
    hint = 'user or password refused';
  } else if (/NOT_ALLOWED|vhost/i.test(text)) {
    hint = `vhost ${JSON.stringify(vhost)} missing or not permitted`;
  }
  const detail = `${code && !text.includes(code) ? `${code}: ` : ''}${text.trim()}`;
  return new ConnectionError(hint ? `${hint} (${detail})` : detail, { cause: error });
}
