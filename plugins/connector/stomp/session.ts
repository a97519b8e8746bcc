/**
 * One STOMP connection to one broker, over TCP or TLS, with @stomp/stompjs doing the framing and
 * heartbeats. A session never reconnects by itself: when it ends it calls `onLost` once, and the
 * connector (connector.ts) decides what to do. SUBSCRIBE and SEND wait for the broker's RECEIPT,
 * so a subscription is active and a message is in the broker's hands when they resolve.
 */
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Client, type IFrame, type IMessage, type IStompSocket } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import { ConnectionError, PublishError } from '../../../src/errors.js';
import { describeHost } from '../pool/failover.js';
import type { PoolHost } from '../pool/options.js';
import { tlsOptionsFor } from '../pool/tls.js';

/** What a session needs besides the host. */
export interface StompSessionOptions {
  /** STOMP `host` header (the virtual host). */
  vhost: string;
  /** Heartbeat interval in both directions, ms; 0 disables. */
  heartbeatMs: number;
  /** How long the TCP/TLS connect plus STOMP CONNECT may take, ms. */
  connectTimeoutMs: number;
}

/** Callbacks of a session. */
export interface StompSessionCallbacks {
  /** The connection ended (broker gone, heartbeat lost, ERROR frame); called once, never after close(). */
  onLost(error: ConnectionError): void;
  /** A MESSAGE for a subscription this session did not make (RabbitMQ /temp-queue deliveries). */
  onUnhandledMessage(message: IMessage): void;
}

/** Builds the socket factory stompjs calls: plain TCP, or TLS with the pool host's certificates. */
function socketFactory(host: PoolHost): () => IStompSocket {
  if (!host.ssl) return () => new TCPWrapper(host.host, host.port);
  const tlsOptions = tlsOptionsFor(host);
  class TlsWrapper extends TCPWrapper {
    protected override getSocket(port: number, hostname: string) {
      return tlsConnect({ ...tlsOptions, port, host: hostname });
    }
  }
  return () => new TlsWrapper(host.host, host.port);
}

/** Text of a STOMP ERROR frame, for messages. */
function errorFrameText(frame: IFrame): string {
  const detail = frame.body.trim();
  return `${frame.headers.message ?? 'ERROR frame'}${detail ? ` (${detail.slice(0, 300)})` : ''}`;
}

interface PendingReceipt {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** A connected STOMP session. Create with StompSession.open. */
export class StompSession {
  private alive = true;
  private closing = false;
  private lastError: ConnectionError | undefined;
  private readonly receipts = new Map<string, PendingReceipt>();
  private receiptSequence = 0;
  private readonly receiptPrefix = randomBytes(4).toString('hex');

  private constructor(
    private readonly client: Client,
    readonly host: PoolHost,
    private readonly callbacks: StompSessionCallbacks,
  ) {}

  /**
   * Connects to `host` and completes the STOMP handshake; rejects with ConnectionError on refusal,
   * timeout, TLS or authentication failure, or when `signal` aborts.
   */
  static open(host: PoolHost, options: StompSessionOptions, callbacks: StompSessionCallbacks, signal: AbortSignal): Promise<StompSession> {
    return new Promise<StompSession>((resolve, reject) => {
      let factory: () => IStompSocket;
      try {
        factory = socketFactory(host);
      } catch (error) {
        reject(error);
        return;
      }
      const connectHeaders: Record<string, string> = { host: options.vhost };
      if (host.user !== undefined) connectHeaders.login = host.user;
      if (host.password !== undefined) connectHeaders.passcode = host.password;
      const client = new Client({
        webSocketFactory: factory,
        connectHeaders,
        heartbeatIncoming: options.heartbeatMs,
        heartbeatOutgoing: options.heartbeatMs,
        // Reconnection, failover and back-off belong to the connector, across the whole pool.
        reconnectDelay: 0,
        connectionTimeout: 0,
        discardWebsocketOnCommFailure: true,
        debug: () => {},
      });
      const session = new StompSession(client, host, callbacks);
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.alive = false;
        void client.deactivate({ force: true }).catch(() => {});
        reject(error);
      };
      const onAbort = (): void => fail(new ConnectionError(`connecting to ${describeHost(host)} aborted`));
      const timer = setTimeout(
        () => fail(new ConnectionError(`no STOMP CONNECTED from ${describeHost(host)} within ${options.connectTimeoutMs / 1000} s (connect_timeout)`)),
        options.connectTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });

      client.onConnect = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(session);
      };
      client.onStompError = (frame) => {
        const error = new ConnectionError(`broker ${describeHost(host)} sent ERROR: ${errorFrameText(frame)}`);
        session.lastError = error;
        if (!settled) fail(error);
      };
      client.onWebSocketError = (event: { message?: unknown }) => {
        const cause = event?.message instanceof Error ? event.message : undefined;
        session.lastError = new ConnectionError(`socket error with ${describeHost(host)}: ${cause?.message ?? 'unknown error'}`, { cause });
      };
      client.onWebSocketClose = () => {
        if (!settled) {
          fail(session.lastError ?? new ConnectionError(`${describeHost(host)} closed the connection before STOMP CONNECTED`));
          return;
        }
        session.ended(session.lastError ?? new ConnectionError(`${describeHost(host)} closed the connection`));
      };
      client.onHeartbeatLost = () => {
        session.lastError = new ConnectionError(`no heartbeat from ${describeHost(host)} within ${(options.heartbeatMs * 2) / 1000} s`);
      };
      client.onUnhandledMessage = (message) => callbacks.onUnhandledMessage(message);
      client.activate();
    });
  }

  /** Whether the connection is still usable. */
  get open(): boolean {
    return this.alive && !this.closing && this.client.connected;
  }

  /** SUBSCRIBEs and waits for the broker's RECEIPT; returns the subscription id. */
  async subscribe(destination: string, headers: Record<string, string>, onMessage: (message: IMessage) => void, timeoutMs: number): Promise<string> {
    this.ensureOpen(`subscribe to ${destination}`, ConnectionError);
    const id = `sub-${this.receiptPrefix}-${++this.receiptSequence}`;
    const receipt = this.nextReceipt();
    const confirmed = this.awaitReceipt(receipt, timeoutMs, `SUBSCRIBE to ${destination}`, ConnectionError);
    this.client.subscribe(destination, onMessage, { ...headers, id, receipt });
    await confirmed;
    return id;
  }

  /** UNSUBSCRIBEs (best effort: a closed session has no subscriptions left anyway). */
  unsubscribe(id: string): void {
    if (this.open) this.client.unsubscribe(id);
  }

  /** SENDs a binary body and waits for the broker's RECEIPT; rejects with PublishError. */
  async send(destination: string, headers: Record<string, string>, body: Uint8Array, timeoutMs: number): Promise<void> {
    this.ensureOpen(`publish to ${destination}`, PublishError);
    const receipt = this.nextReceipt();
    const confirmed = this.awaitReceipt(receipt, timeoutMs, `SEND to ${destination}`, PublishError);
    // stompjs frames a binaryBody with content-length, so NUL and any other byte survive.
    this.client.publish({ destination, headers: { ...headers, receipt }, binaryBody: body });
    await confirmed;
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
    this.alive = false;
    this.rejectReceipts(new ConnectionError(`session with ${describeHost(this.host)} closed`));
    const done = this.client.deactivate();
    // A broker that does not answer DISCONNECT must not hold up shutdown.
    const timer = setTimeout(() => void this.client.deactivate({ force: true }).catch(() => {}), 2000);
    await done.catch(() => {});
    clearTimeout(timer);
  }

  private ended(error: ConnectionError): void {
    if (!this.alive && this.closing) return;
    const wasAlive = this.alive;
    this.alive = false;
    this.rejectReceipts(error);
    if (wasAlive && !this.closing) this.callbacks.onLost(error);
  }

  private ensureOpen(what: string, ErrorClass: typeof ConnectionError | typeof PublishError): void {
    if (!this.open) throw new ErrorClass(`cannot ${what}: the session with ${describeHost(this.host)} is closed`, { cause: this.lastError });
  }

  private nextReceipt(): string {
    return `r-${this.receiptPrefix}-${++this.receiptSequence}`;
  }

  private awaitReceipt(receipt: string, timeoutMs: number, what: string, ErrorClass: typeof ConnectionError | typeof PublishError): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: PendingReceipt = {
        resolve: () => {
          clearTimeout(entry.timer);
          this.receipts.delete(receipt);
          resolve();
        },
        reject: (error) => {
          clearTimeout(entry.timer);
          this.receipts.delete(receipt);
          reject(error instanceof ErrorClass ? error : new ErrorClass(`${what} not confirmed by ${describeHost(this.host)}: ${error.message}`, { cause: error }));
        },
        timer: setTimeout(
          () => entry.reject(new ErrorClass(`${what}: no RECEIPT from ${describeHost(this.host)} within ${timeoutMs / 1000} s`)),
          timeoutMs,
        ),
      };
      this.receipts.set(receipt, entry);
      this.client.watchForReceipt(receipt, () => entry.resolve());
    });
  }

  private rejectReceipts(error: Error): void {
    for (const entry of [...this.receipts.values()]) entry.reject(error);
  }
}
