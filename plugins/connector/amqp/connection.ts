/**
 * Opening one AMQP connection to one pool host: plain or TLS (CA, client certificate and key from the
 * pool host, `ssl.verify`), bounded by `connect_timeout` (or what is left of a client's budget), abortable, with
 * failures explained (which TLS side refused, credentials, vhost) as ConnectionError with a reason. frame_max is
 * negotiated at 128 KiB and enforced on inbound frames (amqplib's maxFrameSize).
 */
import type { ConnectionOptions } from 'node:tls';
import amqp, { type ChannelModel, type Options } from 'amqplib';
import { ConnectionError } from '../../../src/errors.js';
import { explainConnectFailure } from '../pool/failure.js';
import type { PoolHost } from '../pool/options.js';
import { tlsOptionsFor } from '../pool/tls.js';
import type { AmqpOptions } from './options.js';

/** The AMQP frame_max asked for (RabbitMQ's default): bodies travel in frames of at most this many bytes. */
export const AMQP_FRAME_MAX = 131_072;

/** Opens the AMQP connection, with TLS when the host asks for it; bounded by connect_timeout. */
export async function openConnection(host: PoolHost, how: { options: AmqpOptions; identity: string; signal: AbortSignal; timeoutMs: number }): Promise<ChannelModel> {
  const { options, identity, signal, timeoutMs } = how;
  const address: Options.Connect & { maxFrameSize: number } = {
    protocol: host.ssl ? 'amqps' : 'amqp',
    hostname: host.host,
    port: host.port,
    username: host.user ?? 'guest',
    password: host.password ?? 'guest',
    vhost: options.vhost,
    heartbeat: Math.round(options.heartbeatMs / 1000),
    // Frames stay small (RabbitMQ's default), and a frame larger than negotiated is refused before it is buffered.
    frameMax: AMQP_FRAME_MAX,
    maxFrameSize: AMQP_FRAME_MAX,
  };
  const socket: Record<string, unknown> = {
    timeout: timeoutMs,
    // Without TCP_NODELAY the handshake's small writes wait on delayed acknowledgements: 45 ms per connect instead
    // of 5, and the same stall for a small message written right after another.
    noDelay: true,
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
        timer = setTimeout(() => reject(new ConnectionError(`no AMQP handshake within ${timeoutMs / 1000} s (connect_timeout)`, { reason: 'timeout' })), timeoutMs);
        onAbort = () => reject(new ConnectionError('connector closed'));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (error) {
    abandoned = true;
    throw explainConnectFailure(host, error, { clientCertSetting: 'plugin.amqp.ssl.cert and ssl.key (pool.N.ssl.cert and ssl.key in the pool form)', vhost: options.vhost });
  } finally {
    clearTimeout(timer);
    // One listener per attempt would pile up on the connector's signal over a long outage.
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
