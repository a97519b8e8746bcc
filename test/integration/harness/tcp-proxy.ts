/**
 * A TCP proxy for outage tests: forwards 127.0.0.1:<random port> to a broker, and `cut(ms)` makes an outage for
 * its clients only (every connection is destroyed and new ones are reset until the outage ends), so tests can
 * kill "the broker" without stopping the shared one other tests use.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

/** Where the proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/** A forwarding proxy with a switchable outage. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** Connections accepted and forwarded since start (for diagnostics). */
  accepted = 0;
  /** Connections reset because they arrived during an outage. */
  refused = 0;

  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on 127.0.0.1 (a free port) and forwards every connection to `target`. */
  static async start(target: ProxyTarget): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  /** Whether an outage is in progress. */
  get isDown(): boolean {
    return this.down;
  }

  /** Destroys every connection and resets new ones for `ms` milliseconds; resolves when the outage is over. */
  async cut(ms: number): Promise<void> {
    this.hold();
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.release();
  }

  /** Starts an outage that lasts until release(): every connection is destroyed and new ones are reset. */
  hold(): void {
    this.down = true;
    for (const socket of [...this.sockets]) socket.destroy();
    this.sockets.clear();
  }

  /** Ends an outage started by hold(): connections are forwarded again. */
  release(): void {
    this.down = false;
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: ProxyTarget): void {
    if (this.down) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // Errors end the pair through 'close'; nothing to report for a test proxy.
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }
}
