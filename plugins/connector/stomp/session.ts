/**
 * One STOMP 1.2 connection to one broker, over TCP or TLS, framed by frame.ts (Buffers, bounded). It negotiates
 * heart-beats, SUBSCRIBEs and SENDs with a RECEIPT (so a subscription is active, and a message in the broker's
 * hands, when they resolve), and drops inbound frames larger than max_message_size as they stream by. A session
 * never reconnects by itself: when it ends it calls `onLost` once, and the connector decides what to do.
 *
 * Why not @stomp/stompjs: its parser appends every inbound byte to a JavaScript array, one call per byte, and
 * cannot be bounded, so a 120 MB frame crashed the process (V8 "invalid size") and a 50 MB one took 1.7 GB.
 * A guard in front of it would have to track the same framing (command, headers, content-length, NUL) that
 * frame.ts does; with it in place, turning frames into messages is the small remaining step.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConnectionError, PublishError } from '../../../src/errors.js';
import { describeHost } from '../pool/failover.js';
import { explainConnectFailure, oneLine } from '../pool/failure.js';
import type { PoolHost } from '../pool/options.js';
import { tlsOptionsFor } from '../pool/tls.js';
import { FrameParser, type StompFrame, encodeFrame } from './frame.js';

/** What a session needs besides the host. */
export interface StompSessionOptions {
  /** STOMP `host` header (the virtual host). */
  vhost: string;
  /** Heart-beat interval in both directions, ms; 0 disables. */
  heartbeatMs: number;
  /** How long the TCP/TLS connect plus STOMP CONNECT may take, ms. */
  connectTimeoutMs: number;
  /** Bytes: larger inbound bodies are skipped, not buffered (max_message_size). */
  maxMessageSize: number;
  /** The setting that gives a client certificate, for the hint when the broker requires one. */
  clientCertSetting?: string;
}

/** Callbacks of a session. */
export interface StompSessionCallbacks {
  /** The connection ended (broker gone, heart-beat lost, ERROR frame, protocol error); once, never after close(). */
  onLost(error: ConnectionError): void;
  /** A MESSAGE for no subscription this session made (RabbitMQ /temp-queue deliveries). */
  onUnhandledMessage(frame: StompFrame): void;
  /** A frame larger than max_message_size is being skipped (the connection stays). */
  onOversize(command: string, headers: Readonly<Record<string, string>>, bytes: number | undefined): void;
  /** The broker's bytes broke the protocol; the session ends. */
  onMalformed(problem: string): void;
}

interface PendingReceipt {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** A SEND (refused by an ERROR naming it) or a SUBSCRIBE. */
  kind: 'send' | 'subscribe' | 'disconnect';
}

/** Words in a broker's ERROR answer to CONNECT that mean the credentials or vhost were refused. */
const AUTH_REFUSAL = /access refused|access denied|password|login|credential|authenticat|not authori[sz]ed|user ?name|vhost|virtual host/i;

/** A connected STOMP session. Create with StompSession.open. */
export class StompSession {
  private alive = true;
  private closing = false;
  private lastError: ConnectionError | undefined;
  private readonly receipts = new Map<string, PendingReceipt>();
  private readonly subscriptions = new Map<string, (frame: StompFrame) => void>();
  private sequence = 0;
  private readonly prefix = randomBytes(4).toString('hex');
  private lastReceived = Date.now();
  private lastSent = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private onConnected: ((frame: StompFrame) => void) | undefined;
  private onHandshakeError: ((error: ConnectionError) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly host: PoolHost,
    private readonly callbacks: StompSessionCallbacks,
  ) {}

  /**
   * Connects to `host` and completes the STOMP handshake; rejects with ConnectionError (its `reason` set) on
   * refusal, timeout, TLS or authentication failure, or when `signal` aborts.
   */
  static open(host: PoolHost, options: StompSessionOptions, callbacks: StompSessionCallbacks, signal: AbortSignal): Promise<StompSession> {
    return new Promise<StompSession>((resolve, reject) => {
      let socket: Socket;
      try {
        socket = host.ssl ? tlsConnect({ ...tlsOptionsFor(host), port: host.port, host: host.host }) : netConnect({ host: host.host, port: host.port });
      } catch (error) {
        reject(error);
        return;
      }
      socket.setNoDelay(true);
      const session = new StompSession(socket, host, callbacks);
      const context = { clientCertSetting: options.clientCertSetting ?? `pool.${host.index}.ssl.cert and ssl.key` };
      let settled = false;
      const fail = (error: ConnectionError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.alive = false;
        socket.destroy();
        reject(error);
      };
      const onAbort = (): void => fail(new ConnectionError(`connecting to ${describeHost(host)} aborted`));
      const timer = setTimeout(
        () => fail(new ConnectionError(`no STOMP CONNECTED from ${describeHost(host)} within ${options.connectTimeoutMs / 1000} s (connect_timeout)`, { reason: 'timeout' })),
        options.connectTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });

      session.onHandshakeError = fail;
      session.onConnected = (frame) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.onConnected = undefined;
        session.onHandshakeError = undefined;
        session.startHeartbeats(options.heartbeatMs, frame.headers['heart-beat']);
        resolve(session);
      };
      const parser = new FrameParser({ maxBodyBytes: options.maxMessageSize }, {
        frame: (frame) => session.handle(frame),
        oversize: (command, headers, bytes) => callbacks.onOversize(command, headers, bytes),
        error: (problem) => {
          session.lastError = new ConnectionError(`${describeHost(host)} broke the STOMP protocol: ${problem}`);
          if (settled) callbacks.onMalformed(problem);
          socket.destroy();
        },
      });
      socket.once(host.ssl ? 'secureConnect' : 'connect', () => {
        const connect: Record<string, string> = { 'accept-version': '1.2', host: options.vhost, 'heart-beat': `${options.heartbeatMs},${options.heartbeatMs}` };
        if (host.user !== undefined) connect.login = host.user;
        if (host.password !== undefined) connect.passcode = host.password;
        try {
          session.write(encodeFrame('CONNECT', connect));
        } catch (error) {
          fail(new ConnectionError(`cannot send CONNECT to ${describeHost(host)}: ${(error as Error).message}`, { reason: 'auth', cause: error }));
        }
      });
      socket.on('data', (chunk: Buffer) => {
        session.lastReceived = Date.now();
        parser.push(chunk);
      });
      socket.on('error', (error: Error) => {
        session.lastError ??= explainConnectFailure(host, error, context);
      });
      socket.on('close', () => {
        if (!settled) {
          fail(session.lastError ?? explainConnectFailure(host, new Error(`${describeHost(host)} closed the connection before STOMP CONNECTED`), context));
          return;
        }
        session.ended(session.lastError ?? new ConnectionError(`${describeHost(host)} closed the connection`));
      });
    });
  }

  /** Whether the connection is still usable. */
  get open(): boolean {
    return this.alive && !this.closing && !this.socket.destroyed;
  }

  /** SUBSCRIBEs (ack auto) and waits for the broker's RECEIPT; returns the subscription id. */
  async subscribe(destination: string, headers: Record<string, string>, onMessage: (frame: StompFrame) => void, timeoutMs: number): Promise<string> {
    this.ensureOpen(`subscribe to ${destination}`);
    const id = `sub-${this.prefix}-${++this.sequence}`;
    this.subscriptions.set(id, onMessage);
    try {
      await this.request('SUBSCRIBE', { ...headers, destination, id, ack: 'auto' }, undefined, timeoutMs, 'subscribe', `SUBSCRIBE to ${destination}`);
    } catch (error) {
      this.subscriptions.delete(id);
      throw error;
    }
    return id;
  }

  /** UNSUBSCRIBEs (best effort: a closed session has no subscriptions left anyway). */
  unsubscribe(id: string): void {
    this.subscriptions.delete(id);
    if (this.open) this.write(encodeFrame('UNSUBSCRIBE', { id }));
  }

  /**
   * SENDs a binary body and waits for the broker's RECEIPT. Rejects with ConnectionError when the session ends
   * first, PublishError when the broker answers with ERROR or no RECEIPT comes within `timeoutMs`.
   */
  async send(destination: string, headers: Record<string, string>, body: Uint8Array, timeoutMs: number): Promise<void> {
    this.ensureOpen(`publish to ${destination}`);
    await this.request('SEND', { ...headers, destination }, body, timeoutMs, 'send', `SEND to ${destination}`);
  }

  /** Receipts still outstanding (publishes and subscriptions not yet confirmed). */
  get pendingReceipts(): number {
    return this.receipts.size;
  }

  /** Waits (bounded) for outstanding receipts, then sends DISCONNECT and closes the socket. */
  async close(flushTimeoutMs: number): Promise<void> {
    if (this.closing) return;
    const deadline = Date.now() + flushTimeoutMs;
    while (this.receipts.size > 0 && this.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.closing = true;
    this.stopTimers();
    this.rejectReceipts(new ConnectionError(`session with ${describeHost(this.host)} closed`));
    if (this.alive && !this.socket.destroyed) {
      // A broker that does not confirm DISCONNECT must not hold up shutdown.
      const receipt = `bye-${this.prefix}`;
      const confirmed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(2000, Math.max(100, flushTimeoutMs)));
        this.receipts.set(receipt, { resolve: () => { clearTimeout(timer); resolve(); }, reject: () => { clearTimeout(timer); resolve(); }, timer, kind: 'disconnect' });
        this.socket.once('close', () => { clearTimeout(timer); resolve(); });
      });
      this.write(encodeFrame('DISCONNECT', { receipt }));
      await confirmed;
      this.receipts.delete(receipt);
    }
    this.alive = false;
    this.socket.destroy();
  }

  // ---- internals -----------------------------------------------------------------------------

  private handle(frame: StompFrame): void {
    switch (frame.command) {
      case 'CONNECTED':
        this.onConnected?.(frame);
        return;
      case 'MESSAGE': {
        const deliver = this.subscriptions.get(frame.headers.subscription ?? '');
        if (deliver) deliver(frame);
        else this.callbacks.onUnhandledMessage(frame);
        return;
      }
      case 'RECEIPT': {
        const pending = this.receipts.get(frame.headers['receipt-id'] ?? '');
        pending?.resolve();
        return;
      }
      case 'ERROR':
        this.handleError(frame);
        return;
      default:
        this.lastError = new ConnectionError(`${describeHost(this.host)} sent an unexpected ${oneLine(frame.command, 40)} frame`);
        this.callbacks.onMalformed(`unexpected ${oneLine(frame.command, 40)} frame`);
        this.socket.destroy();
    }
  }

  /** An ERROR frame ends the connection (the broker closes it); a SEND it names fails with PublishError. */
  private handleError(frame: StompFrame): void {
    const detail = frame.body.subarray(0, 300).toString('utf8').trim();
    const text = oneLine(`${frame.headers.message ?? 'ERROR frame'}${detail ? ` (${detail})` : ''}`);
    const handshake = this.onHandshakeError !== undefined;
    const error = new ConnectionError(`the broker sent ERROR: ${text}`, handshake ? { reason: AUTH_REFUSAL.test(text) ? 'auth' : 'other' } : undefined);
    this.lastError = error;
    if (handshake) {
      this.onHandshakeError!(error);
      return;
    }
    const pending = this.receipts.get(frame.headers['receipt-id'] ?? '');
    if (pending?.kind === 'send') pending.reject(new PublishError(`the broker refused the message: ${text}`, { cause: error }));
    this.socket.destroy();
  }

  private startHeartbeats(ourMs: number, offered: string | undefined): void {
    const [serverSends, serverWants] = (offered ?? '0,0').split(',').map((part) => Number(part.trim()) || 0);
    const outgoing = ourMs > 0 && serverWants! > 0 ? Math.max(ourMs, serverWants!) : 0;
    const incoming = ourMs > 0 && serverSends! > 0 ? Math.max(ourMs, serverSends!) : 0;
    if (outgoing > 0) {
      this.timers.push(setInterval(() => {
        if (Date.now() - this.lastSent >= outgoing / 2) this.write(Buffer.from('\n'));
      }, outgoing / 2).unref());
    }
    if (incoming > 0) {
      this.timers.push(setInterval(() => {
        if (Date.now() - this.lastReceived <= incoming * 2) return;
        this.lastError = new ConnectionError(`no heart-beat from ${describeHost(this.host)} within ${(incoming * 2) / 1000} s`);
        this.socket.destroy();
      }, incoming).unref());
    }
  }

  private write(bytes: Buffer): void {
    this.lastSent = Date.now();
    this.socket.write(bytes);
  }

  private ended(error: ConnectionError): void {
    this.stopTimers();
    if (!this.alive && this.closing) return;
    const wasAlive = this.alive;
    this.alive = false;
    this.rejectReceipts(error);
    if (wasAlive && !this.closing) this.callbacks.onLost(error);
  }

  private stopTimers(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private ensureOpen(what: string): void {
    if (!this.open) throw new ConnectionError(`cannot ${what}: the session with ${describeHost(this.host)} is closed`, { cause: this.lastError });
  }

  /** Writes a frame asking for a RECEIPT and waits for it. */
  private request(command: string, headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number, kind: 'send' | 'subscribe', what: string): Promise<void> {
    const receipt = `r-${this.prefix}-${++this.sequence}`;
    const confirmed = new Promise<void>((resolve, reject) => {
      const entry: PendingReceipt = {
        kind,
        resolve: () => {
          clearTimeout(entry.timer);
          this.receipts.delete(receipt);
          resolve();
        },
        reject: (error) => {
          clearTimeout(entry.timer);
          this.receipts.delete(receipt);
          reject(error);
        },
        timer: setTimeout(() => {
          const problem = `${what}: no RECEIPT from ${describeHost(this.host)} within ${timeoutMs / 1000} s`;
          entry.reject(kind === 'send' ? new PublishError(problem) : new ConnectionError(problem));
        }, timeoutMs),
      };
      this.receipts.set(receipt, entry);
    });
    this.write(encodeFrame(command, { ...headers, receipt }, body));
    return confirmed;
  }

  private rejectReceipts(error: Error): void {
    for (const entry of [...this.receipts.values()]) entry.reject(error);
  }
}
