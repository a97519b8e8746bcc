/**
 * The HTTP server of the Prometheus endpoint: `GET /metrics` (and `HEAD`) answer the current exposition; any
 * other path is 404, any other method 405, malformed HTTP 400 and headers over 8 KiB 431, each counted
 * (`metrics.not_found`, `metrics.bad_method`, `metrics.bad_requests`) and logged at a bounded rate. Slow clients are
 * cut off and at most 32 connections are open, so anyone who can reach the port costs a small, fixed amount.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsEndpointError } from '../errors.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { LogLimiter } from '../util/log-limiter.js';
import { renderMetrics, type MetricsSnapshot } from './exposition.js';
import type { MetricsSettings } from './schema.js';

/** The one page served. */
export const METRICS_PATH = '/metrics';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const MAX_CONNECTIONS = 32;

/** What the server needs from the daemon. */
export interface MetricsServerOptions {
  settings: MetricsSettings;
  /** The counters and gauges of this moment. */
  snapshot: () => MetricsSnapshot;
  logger: Logger;
  counters: Counters;
  limiter: LogLimiter;
}

/** A listening endpoint. */
export interface MetricsServer {
  /** For example `http://127.0.0.1:9100/metrics` (the actual port when 0 was configured). */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

function answer(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': status === 200 ? CONTENT_TYPE : 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(body);
}

/** Starts listening; throws MetricsEndpointError when the address cannot be bound (in use, not local, no permission). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { settings, logger, counters, limiter } = options;
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    request.resume();
    const path = (request.url ?? '').split('?', 1)[0];
    const peer = `${request.socket.remoteAddress ?? '?'}`;
    if (path !== METRICS_PATH) {
      counters.increment('metrics.not_found');
      limiter.log('warn', 'metrics.not_found', { peer, path: path?.slice(0, 200) }, `metrics endpoint: no page ${JSON.stringify(path?.slice(0, 200))} (only ${METRICS_PATH})`);
      answer(response, 404, `not found: the only page is ${METRICS_PATH}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      counters.increment('metrics.bad_method');
      limiter.log('warn', 'metrics.bad_method', { peer, method: request.method }, `metrics endpoint: method ${request.method} refused (GET or HEAD only)`);
      answer(response, 405, 'method not allowed: use GET\n', { allow: 'GET, HEAD' });
      return;
    }
    let body: string;
    try {
      body = renderMetrics(options.snapshot());
    } catch (error) {
      counters.increment('metrics.errors');
      limiter.log('error', 'metrics.errors', { err: error }, `metrics endpoint: cannot render the metrics: ${(error as Error).message}`);
      answer(response, 500, 'internal error\n');
      return;
    }
    counters.increment('metrics.scrapes');
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
      response.end();
    } else {
      answer(response, 200, body);
    }
  };

  const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, handle);
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (error, socket) => {
    counters.increment('metrics.bad_requests');
    limiter.log('warn', 'metrics.bad_requests', { reason: (error as NodeJS.ErrnoException).code ?? error.message }, `metrics endpoint: malformed request refused: ${error.message}`);
    const status = (error as NodeJS.ErrnoException).code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) => {
      reject(new MetricsEndpointError(`plugin.prometheus: cannot listen on ${settings.bind} port ${settings.port}: ${error.message}`, { cause: error }));
    });
    server.listen(settings.port, settings.bind, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${METRICS_PATH}`;
  logger.info({ url }, `metrics endpoint listening on ${url}`);
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
