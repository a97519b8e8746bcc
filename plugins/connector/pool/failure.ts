/**
 * Telling why a connection attempt failed: a reason from the error (or one a driver set on its ConnectionError),
 * the words a person reads for it, and whether trying again can help. Shared by every connector, so a client
 * prints the same kind of line for every broker.
 */
import { ConnectionError, type ConnectFailureReason } from '../../../src/errors.js';
import type { PoolHost } from './options.js';

/** What a person reads for each reason. */
export const REASON_TEXT: Readonly<Record<ConnectFailureReason, string>> = Object.freeze({
  refused: 'connection refused',
  unresolved: 'host name not found',
  timeout: 'no answer in time',
  tls: 'TLS handshake failed',
  auth: 'authentication failed',
  other: 'connection failed',
});

/** Node's certificate verification codes (tls.TLSSocket.authorizationError). */
const CERTIFICATE_CODES = /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH)/;

/** The reason of a failed attempt: the first reason or system error code found along the cause chain. */
export function connectFailureReason(error: unknown): ConnectFailureReason {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof ConnectionError && current.reason !== undefined) return current.reason;
    const code = String((current as { code?: unknown }).code ?? '');
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return 'unresolved';
    if (code === 'ETIMEDOUT') return 'timeout';
    if (CERTIFICATE_CODES.test(code)) return 'tls';
    const text = String((current as { message?: unknown }).message ?? '');
    if (/ACCESS[-_]REFUSED|\b403\b/.test(text)) return 'auth';
    current = (current as { cause?: unknown }).cause;
  }
  return 'other';
}

/** Whether retrying the same broker cannot help (wrong credentials or certificates): a client stops at once. */
export function isPermanent(reason: ConnectFailureReason): boolean {
  return reason === 'auth' || reason === 'tls';
}

/** An error's message on one line, at most `max` characters (broker ERROR texts may span lines). */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What explainConnectFailure says in its hints. */
export interface FailureContext {
  /** The settings that give a client certificate, for the hint when the broker requires one. */
  clientCertSetting: string;
  /** The virtual host asked for. */
  vhost?: string;
}

/**
 * A ConnectionError saying what most likely went wrong with a socket-level or handshake failure (which TLS side
 * refused, credentials, vhost, refused), with its `reason` set. A ConnectionError passes through unchanged.
 */
export function explainConnectFailure(host: PoolHost, error: unknown, context: FailureContext): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const failure = (error ?? {}) as { message?: string; code?: string; reason?: string };
  const code = failure.code ?? '';
  // OpenSSL messages carry file names and line numbers; its `reason` is the readable part.
  const text = code.startsWith('ERR_SSL') && failure.reason ? failure.reason : (failure.message ?? String(error));
  let reason = connectFailureReason(error);
  let hint = '';
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (host.ssl && !host.sslCert && /ECONNRESET|socket hang up|handshake/i.test(`${code} ${text}`))) {
    hint = `TLS handshake failed: the broker requires a client certificate: set ${context.clientCertSetting}`;
  } else if (/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|ALERT_DECRYPT_ERROR/.test(code)) {
    hint = 'TLS handshake failed: the broker does not accept the client certificate (ssl.cert): is it issued by the CA the broker trusts?';
  } else if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(code)) {
    hint = `TLS handshake failed: the broker's certificate is not trusted: does ssl.ca hold the CA that signed it, and does it name ${host.host}?`;
  } else if (host.ssl && /ERR_SSL|alert|handshake/i.test(`${code} ${text}`)) {
    hint = 'TLS handshake failed: check ssl.ca, ssl.cert and ssl.key against the broker\'s TLS settings';
  } else if (/ACCESS_REFUSED|\b403\b/.test(text)) {
    hint = 'user or password refused';
    reason = 'auth';
  } else if (/NOT_ALLOWED|vhost/i.test(text)) {
    hint = `vhost ${JSON.stringify(context.vhost ?? '/')} missing or not permitted`;
    reason = 'auth';
  }
  if (hint.startsWith('TLS')) reason = 'tls';
  const detail = `${code && !text.includes(code) ? `${code}: ` : ''}${text.trim()}`;
  return new ConnectionError(hint ? `${hint} (${detail})` : detail, { cause: error, reason });
}
