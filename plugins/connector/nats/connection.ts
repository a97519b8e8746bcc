/**
 * Opening one NATS connection to one pool host with the `@nats-io/transport-node` client: plain or TLS (CA,
 * client certificate and key from the pool host), user and password, bounded by `connect_timeout` (or what is left
 * of a client's budget) and abortable. The client's own reconnection is off: the shared connector base fails over
 * across the pool with its back-off, and a lost connection is reported once. Failures are explained (refused,
 * credentials, which TLS side refused, a server without TLS) as a ConnectionError with its reason.
 * The client library is loaded on the first connection, so merely registering the connector costs nothing.
 */
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { ConnectionError } from '../../../src/errors.js';
import { explainConnectFailure, oneLine } from '../pool/failure.js';
import type { PoolHost } from '../pool/options.js';
import { tlsOptionsFor } from '../pool/tls.js';

/** The client module, loaded once on first use. */
export type NatsModule = typeof import('@nats-io/transport-node');

let loading: Promise<NatsModule> | undefined;

/** Loads `@nats-io/transport-node` (once). */
export function loadNats(): Promise<NatsModule> {
  loading ??= import('@nats-io/transport-node');
  return loading;
}

/** The longest interval the client's PING timer accepts (setTimeout's limit): heartbeat_interval 0 means "off". */
const NO_HEARTBEAT_MS = 2 ** 31 - 1;

/** How one connection is opened. */
export interface OpenNatsOptions {
  /** This node's identity: the connection's name on the server (`nats server report connections`). */
  identity: string;
  /** Client PING interval in ms; 0 turns heartbeats off. The server is declared gone after 2 unanswered PINGs. */
  heartbeatMs: number;
  signal: AbortSignal;
  timeoutMs: number;
}

/** Connects to `host`; rejects with a ConnectionError whose reason says why, within `timeoutMs`. */
export async function openNatsConnection(host: PoolHost, how: OpenNatsOptions): Promise<{ nats: NatsModule; connection: NatsConnection }> {
  const nats = await loadNats();
  const options: NodeConnectionOptions = {
    servers: `${host.host.includes(':') ? `[${host.host}]` : host.host}:${host.port}`,
    name: `tscollective ${how.identity}`,
    reconnect: false,
    maxReconnectAttempts: 0,
    ignoreClusterUpdates: true,
    noRandomize: true,
    timeout: how.timeoutMs,
    pingInterval: how.heartbeatMs > 0 ? how.heartbeatMs : NO_HEARTBEAT_MS,
    maxPingOut: 2,
    // null: never TLS unless asked for (undefined would upgrade whenever the server offers it). The client hands
    // these options to tls.connect as they are, so node's own (CA and certificates as Buffers) fit.
    tls: host.ssl ? (tlsOptionsFor(host) as unknown as NodeConnectionOptions['tls']) : null,
  };
  if (host.user !== undefined) options.user = host.user;
  if (host.password !== undefined) options.pass = host.password;

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let abandoned = false;
  const attempt = nats.connect(options);
  // A connection that completes after we gave up must not leak.
  attempt.then((connection) => (abandoned ? connection.close().catch(() => undefined) : undefined), () => undefined);
  try {
    const connection = await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConnectionError(`no NATS handshake within ${how.timeoutMs / 1000} s (connect_timeout)`, { reason: 'timeout' })), how.timeoutMs);
        onAbort = () => reject(new ConnectionError('connector closed'));
        how.signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    const info = connection.info;
    if (info && info.headers !== true) {
      await connection.close().catch(() => undefined);
      throw new ConnectionError(`the NATS server ${info.version} does not support message headers (mc_sender): it needs NATS 2.2 or later`);
    }
    return { nats, connection };
  } catch (error) {
    abandoned = true;
    throw explainNatsFailure(host, error, nats);
  } finally {
    clearTimeout(timer);
    // One listener per attempt would pile up on the connector's signal over a long outage.
    if (onAbort) how.signal.removeEventListener('abort', onAbort);
  }
}

/** A ConnectionError saying what went wrong, with its reason; NATS's own failures first, then the shared ones. */
export function explainNatsFailure(host: PoolHost, error: unknown, nats: Pick<NatsModule, 'errors'>): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const setting = `plugin.nats.pool.${host.index}`;
  const text = oneLine(String((error as { message?: unknown })?.message ?? error));
  const cause = (error as { cause?: unknown })?.cause;
  const code = String((error as { code?: unknown })?.code ?? '');
  if (error instanceof nats.errors.AuthorizationError) {
    return new ConnectionError(`user or password refused (${setting}.user and ${setting}.password): ${text}`, { cause: error, reason: 'auth' });
  }
  if (!host.ssl && cause instanceof TypeError && /tls/i.test(cause.message)) {
    // The client starts TLS when the server requires it, and fails on its missing TLS options.
    return new ConnectionError(`the server requires TLS: set ${setting}.ssl = 1 (and ${setting}.ssl.ca)`, { cause: error, reason: 'tls' });
  }
  if (host.ssl && /does not support 'tls'/.test(text)) {
    return new ConnectionError(`TLS handshake failed: the server does not offer TLS (${setting}.ssl is on): ${text}`, { cause: error, reason: 'tls' });
  }
  if (host.ssl && !host.sslCert && /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE)/.test(code)) {
    return new ConnectionError(`TLS handshake failed: the server requires a client certificate: set ${setting}.ssl.cert and ${setting}.ssl.key (${code})`, { cause: error, reason: 'tls' });
  }
  return explainConnectFailure(host, error, { clientCertSetting: `${setting}.ssl.cert and ssl.key` });
}
