/**
 * A real tscollectived process for connector tests: keys (src/keys), a server.cfg with the caller's connector
 * settings and aes_security, the daemon started from dist (or another build, for before/after figures), its
 * memory read from /proc, and the client settings that reach it. Also the attackers of the oversize tests: a
 * raw STOMP SEND and a raw AMQP publish of a body of any size, streamed in 1 MiB chunks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import type { RpcClient } from '../../../src/client/index.js';
import { generateKeyPairFiles } from '../../../src/keys/index.js';

/** The daemon of this build. */
export const DAEMON_SCRIPT = fileURLToPath(new URL('../../../src/cli/tscollectived.js', import.meta.url));

/** A running daemon. */
export interface DaemonProcess {
  child: ChildProcess;
  identity: string;
  collective: string;
  dir: string;
  logFile: string;
  /** Settings of a client (identity `tester`, aes_security) for the same broker; add the connector's. */
  clientSettings: Record<string, string | number>;
  stderr(): string;
  /** The log file's lines containing `text`. */
  logLines(text: string): string[];
  /** Current and peak resident memory in kB (VmRSS, VmHWM), from /proc. */
  memory(): { rssKb: number; peakKb: number };
  /** SIGTERM, wait for the exit, remove the directory. */
  stop(): Promise<void>;
}

/** Starts tscollectived with `connectorSettings` and waits for its pid file (written once it is connected). */
export async function startDaemonProcess(connectorSettings: Record<string, string | number>, options: { script?: string; timeoutMs?: number } = {}): Promise<DaemonProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-daemon-'));
  const run = randomBytes(3).toString('hex');
  const identity = `oversize-${run}`;
  const collective = `oversize${run}`;
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });
  const [client, server] = await Promise.all([
    generateKeyPairFiles('tester', { dir: join(dir, 'keys') }),
    generateKeyPairFiles(identity, { dir: join(dir, 'keys') }),
  ]);
  copyFileSync(client.publicPath, join(certDir, 'tester.pem'));
  copyFileSync(server.publicPath, join(certDir, `${identity}.pem`));
  writeFileSync(join(dir, 'facts.yaml'), 'role: oversize\n');
  writeFileSync(join(dir, 'classes.txt'), '');
  const logFile = join(dir, 'daemon.log');
  const pidFile = join(dir, 'tscollectived.pid');
  const settings: Record<string, string | number> = {
    identity, collectives: collective, main_collective: collective, securityprovider: 'aes_security', ...connectorSettings,
    'plugin.aes.server_private': server.privatePath, 'plugin.aes.server_public': server.publicPath, 'plugin.aes.client_cert_dir': certDir,
    'plugin.yaml': join(dir, 'facts.yaml'), classesfile: join(dir, 'classes.txt'), logfile: logFile, loglevel: 'info', statedir: join(dir, 'state'),
    registerinterval: 0,
  };
  const cfg = join(dir, 'server.cfg');
  writeFileSync(cfg, `${Object.entries(settings).map(([key, value]) => `${key} = ${value}`).join('\n')}\n`);
  const child = spawn(process.execPath, [options.script ?? DAEMON_SCRIPT, '--config', cfg, '--pidfile', pidFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const daemon: DaemonProcess = {
    child, identity, collective, dir, logFile,
    clientSettings: {
      identity: 'tester', collectives: collective, main_collective: collective, securityprovider: 'aes_security', ...connectorSettings,
      'plugin.aes.client_private': client.privatePath, 'plugin.aes.client_public': client.publicPath, 'plugin.aes.client_cert_dir': certDir,
    },
    stderr: () => stderr,
    logLines: (text) => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes(text)) : []),
    memory: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!existsSync(pidFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`tscollectived did not start (exit ${child.exitCode}): ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return daemon;
}

/** Calls rpcutil `action` on `daemon` alone and returns its data, asserting one reply with status 0. */
export async function callRpcutil(client: RpcClient, daemon: DaemonProcess, action: string): Promise<Record<string, unknown>> {
  const result = await client.call('rpcutil', action, {}, { nodes: [daemon.identity], timeoutMs: 20_000 });
  assert.equal(result.items.length, 1, `${action}: one reply from the daemon (stderr: ${daemon.stderr()})`);
  assert.equal(result.items[0]!.statuscode, 0);
  return result.items[0]!.data;
}

/** Where and as whom a raw STOMP publisher connects. */
export interface StompTarget {
  port: number;
  vhost: string;
  user: string;
  password: string;
}

/**
 * Sends one SEND frame with a `bytes`-long body to `destination` on a raw socket (streamed in 1 MiB chunks,
 * honouring back-pressure), waits for its RECEIPT, and disconnects. `contentLength: false` leaves the header out
 * (the body then ends at its NUL).
 */
export function rawStompSend(target: StompTarget, destination: string, bytes: number, options: { contentLength?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: target.port });
    let received = '';
    let sent = false;
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (!sent && received.includes('CONNECTED')) {
        sent = true;
        void stream().catch(fail);
      } else if (received.includes('ERROR')) {
        fail(new Error(`broker answered ERROR: ${received.slice(received.indexOf('ERROR'), received.indexOf('ERROR') + 300)}`));
      } else if (received.includes('receipt-id:big')) {
        socket.end('DISCONNECT\n\n\0');
        resolve();
      }
    });
    socket.once('connect', () => {
      socket.write(`CONNECT\naccept-version:1.2\nhost:${target.vhost}\nlogin:${target.user}\npasscode:${target.password}\nheart-beat:0,0\n\n\0`);
    });
    const stream = async (): Promise<void> => {
      const header = `SEND\ndestination:${destination}\nreceipt:big\nmc_sender:attacker\n${options.contentLength === false ? '' : `content-length:${bytes}\n`}\n`;
      if (!socket.write(header)) await drained();
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      for (let left = bytes; left > 0; left -= chunk.length) {
        if (!socket.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await drained();
      }
      socket.write('\0');
    };
    const drained = (): Promise<void> => new Promise((done) => socket.once('drain', done));
  });
}

/** Publishes one `bytes`-long message to an AMQP exchange (guest/guest on 127.0.0.1:5672). */
export async function rawAmqpPublish(exchange: string, routingKey: string, bytes: number): Promise<void> {
  const connection = await amqp.connect({ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' });
  try {
    const channel = await connection.createConfirmChannel();
    await new Promise<void>((resolve, reject) => {
      channel.publish(exchange, routingKey, Buffer.alloc(bytes, 0x41), { headers: { mc_sender: 'attacker' } }, (error: unknown) => (error ? reject(error) : resolve()));
    });
  } finally {
    await connection.close();
  }
}
