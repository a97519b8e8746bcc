/**
 * NATS for the integration tests: the shared server every development and CI machine runs on 127.0.0.1:4222
 * (never stopped or reconfigured by a test), its gate (tests skipped with the reason locally, failing under
 * CI=true), connector settings tuned for tests, and private nats-server processes on free ports for what the
 * shared one must not be used for: restarts, users and passwords, TLS, permissions and a small max_payload.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeRepeatedly, serviceGate, type ServiceGate } from '../../harness/gate.js';
import { tcpReachable } from './brokers.js';

/** Where the shared NATS server listens (NATS_HOST / NATS_PORT move it). */
export const NATS = Object.freeze({ host: process.env.NATS_HOST ?? '127.0.0.1', port: Number(process.env.NATS_PORT ?? 4222) });

/** The nats-server binary for private servers (NATS_SERVER overrides it). */
export const NATS_SERVER_BINARY = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

/** How the shared server is started on these machines (scripts/run-tests.mjs does it as root when it is down). */
const START_HINT = 'start it with: sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js '
  + '-sd /var/lib/nats-server -l /var/log/nats-server.log (npm test does this when run as root)';

/** The gate of the tests that use the shared NATS server, probed once when the test file loads. */
export async function natsGate(): Promise<ServiceGate> {
  const up = await probeRepeatedly(() => tcpReachable(NATS.host, NATS.port));
  return serviceGate(`NATS (${NATS.host}:${NATS.port})`, up ? undefined : 'is not reachable', START_HINT);
}

/** The gate of the tests that start their own nats-server. */
export function natsServerGate(): ServiceGate {
  return serviceGate(`nats-server (${NATS_SERVER_BINARY})`, existsSync(NATS_SERVER_BINARY) ? undefined : 'is not installed', 'apt-get install nats-server, or set NATS_SERVER');
}

/** `plugin.nats.*` settings for a connector to `port` (the shared server by default), tuned for tests; `extra` (full keys) overrides. */
export function natsTestSettings(extra: Record<string, string | number | boolean> = {}, port = NATS.port): Record<string, string | number | boolean> {
  const settings = {
    'plugin.nats.pool.size': 1,
    'plugin.nats.pool.1.host': NATS.host,
    'plugin.nats.pool.1.port': port,
    // Fast recovery in tests: reconnect within a second of the server's return.
    'plugin.nats.initial_reconnect_delay': 0.05,
    'plugin.nats.max_reconnect_delay': 1,
    'plugin.nats.heartbeat_interval': 5,
    'plugin.nats.allow_short_heartbeat': true,
    'plugin.nats.connect_timeout': 5,
    'plugin.nats.ttl_grace': 0,
  };
  return { ...settings, ...extra };
}

/** A TCP port that was free a moment ago (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A nats-server of this test file's own, on a free loopback port. */
export class PrivateNatsServer {
  private child: ChildProcess | undefined;
  private output = '';
  private readonly dir = mkdtempSync(join(tmpdir(), 'tsc-nats-'));

  private constructor(
    readonly port: number,
    /** The nats-server configuration text (without `listen`), or '' for none. */
    private readonly config: string,
  ) {}

  /** Starts a server with `config` (nats-server configuration syntax: authorization, tls, max_payload...). */
  static async start(config = ''): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(await freePort(), config);
    await server.resume();
    return server;
  }

  /** What the server printed (for assertion messages). */
  get log(): string {
    return this.output;
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server again on the same port and waits until it accepts connections. */
  async resume(): Promise<void> {
    if (this.running) return;
    const file = join(this.dir, 'server.conf');
    writeFileSync(file, `listen: 127.0.0.1:${this.port}\n${this.config}\n`);
    const child = spawn(NATS_SERVER_BINARY, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = `${this.output}${chunk.toString()}`.slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + 20_000;
    while (!(await tcpReachable('127.0.0.1', this.port, 500))) {
      if (!this.running) throw new Error(`nats-server on port ${this.port} exited at start:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${this.port} did not accept connections within 20 s:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the server process (every connection goes with it) and waits for its exit. */
  async halt(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server, waits `downMs` so every client notices, and starts it again on the same port. */
  async restart(downMs = 500): Promise<void> {
    await this.halt();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.resume();
  }

  /** Stops the server for good and removes its files. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a FakeNatsServer does. */
export interface FakeNatsOptions {
  /** Whether its INFO offers message headers (nats-server 2.2 and later do). */
  headers?: boolean;
  /** How many client PINGs it answers with a PONG before it falls silent (default: all). */
  pongs?: number;
}

/**
 * A minimal NATS server speaking just enough protocol to connect a client (INFO, then a PONG for each PING), that
 * counts the commands it receives (PUB and HPUB payloads are skipped by their announced size). It routes nothing.
 */
export class FakeNatsServer {
  /** Commands received, in order (`CONNECT`, `PING`, `HPUB`, `SUB`, ...), over every connection. */
  readonly commands: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private answered = 0;

  private constructor(private readonly options: FakeNatsOptions) {
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Starts listening on a free loopback port. */
  static async start(options: FakeNatsOptions = {}): Promise<FakeNatsServer> {
    const fake = new FakeNatsServer(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Closes every connection and stops listening. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const info = { server_id: 'FAKE', server_name: 'fake', version: this.options.headers === false ? '2.1.0' : '2.9.10', proto: 1, go: 'fake',
      host: '127.0.0.1', port: this.port, headers: this.options.headers !== false, max_payload: 1_048_576 };
    socket.write(`INFO ${JSON.stringify(info)}\r\n`);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n');
        if (end < 0) return;
        const line = pending.subarray(0, end).toString('latin1');
        const [command = '', ...args] = line.split(' ');
        let consumed = end + 2;
        if (command === 'PUB' || command === 'HPUB') {
          const size = Number(args[args.length - 1]);
          if (pending.length < consumed + size + 2) return;
          consumed += size + 2;
        }
        pending = pending.subarray(consumed);
        this.commands.push(command);
        if (command === 'PING' && this.answered < (this.options.pongs ?? Number.POSITIVE_INFINITY)) {
          this.answered += 1;
          socket.write('PONG\r\n');
        }
      }
    });
  }
}
