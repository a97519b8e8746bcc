/** TLS client options for a pool host (`pool.N.ssl`, `pool.N.ssl.cert|key|ca`). */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConnectionError } from '../../../src/errors.js';
import type { PoolHost } from './options.js';

/**
 * Node TLS options for connecting to `host`: server name for SNI and verification, the CA bundle
 * when configured, and the client certificate and key when configured. Certificates are always
 * verified. Throws ConnectionError naming the file when one cannot be read.
 */
export function tlsOptionsFor(host: PoolHost): ConnectionOptions {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConnectionError(`pool.${host.index}.ssl.${what}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const options: ConnectionOptions = { host: host.host, port: host.port, rejectUnauthorized: true };
  // SNI must not carry an IP address (RFC 6066); node warns when it does.
  if (!/^[\d.]+$/.test(host.host) && !host.host.includes(':')) options.servername = host.host;
  if (host.sslCa) options.ca = read(host.sslCa, 'ca');
  if (host.sslCert) options.cert = read(host.sslCert, 'cert');
  if (host.sslKey) options.key = read(host.sslKey, 'key');
  return options;
}
