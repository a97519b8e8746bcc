/**
 * An in-process message broker with the routing semantics of the real ones: a broadcast fans out to
 * every subscriber of (collective, agent); a directed request reaches the subscriptions of the one
 * named node; a reply destination is exclusive to the session that bound it. Delivery is asynchronous
 * (a later tick, never inside publish) and one message at a time per subscription: the next message
 * waits until the handler of the previous one settles, like a broker with a prefetch of one. A message
 * whose expiry time has passed when its turn comes is dropped and counted, as a broker would.
 *
 * Several connectors (one per simulated node) share one broker. `stop()` simulates an outage: every
 * session is cut (its owner is told, and must reconnect and resubscribe after `start()`), queued
 * messages are lost, and new sessions are refused until `start()`.
 */
import { ConnectionError, InvalidArgumentError } from '../../../src/errors.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { MemoryCounters } from '../../../src/util/counters.js';
import { Fifo } from '../common/fifo.js';

/** A message as the broker carries it. */
export interface MemoryEnvelope {
  body: Uint8Array;
  replyTo?: string;
  /** The publishing session's client name (becomes `mc_sender`). */
  sender: string;
  headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch after which the message is dropped instead of delivered. */
  expiresAt: number;
}

/** Receives one message; the next message for the same binding waits until the returned promise settles. */
export type MemoryDeliver = (envelope: MemoryEnvelope) => void | Promise<void>;

/** Options of a broker. */
export interface MemoryBrokerOptions {
  /** A name for logs and `memory://<name>` host strings. */
  name?: string;
  /** Where the broker counts published, delivered, expired and unroutable messages; a fresh one by default. */
  counters?: Counters;
  logger?: Logger;
}

/** Destination of a broadcast request for `agent` in `collective`. */
export function broadcastDestination(collective: string, agent: string): string {
  return `broadcast/${collective}/${agent}`;
}

/** Destination of requests directed at `identity` in `collective`. */
export function directedDestination(collective: string, identity: string): string {
  return `directed/${collective}/${identity}`;
}

/** Whether a destination is a private reply destination. */
export function isReplyDestination(destination: string): boolean {
  return destination.startsWith('reply/');
}

interface Binding {
  readonly session: MemorySession;
  readonly deliver: MemoryDeliver;
  readonly queue: Fifo<MemoryEnvelope>;
  draining: boolean;
  active: boolean;
}

const namedBrokers = new Map<string, MemoryBroker>();

/** An in-process broker shared by memory connectors. */
export class MemoryBroker {
  /** The broker connectors use unless configured otherwise (`plugin.memory.broker = default`). */
  static get default(): MemoryBroker {
    return MemoryBroker.named('default');
  }

  /** The process-wide broker called `name`, created on first use (`plugin.memory.broker = <name>`). */
  static named(name: string): MemoryBroker {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new InvalidArgumentError(`broker name must be letters, digits, _ . -, got ${JSON.stringify(name)}`);
    }
    let broker = namedBrokers.get(name);
    if (!broker) {
      broker = new MemoryBroker({ name });
      namedBrokers.set(name, broker);
    }
    return broker;
  }

  /** The broker's name, as in `memory://<name>`. */
  readonly name: string;
  /** published, delivered, expired, unroutable, lost (queued when the broker stopped). */
  readonly counters: Counters;
  private readonly logger: Logger | undefined;
  private readonly bindings = new Map<string, Binding[]>();
  private readonly sessions = new Set<MemorySession>();
  private isRunning = true;
  private startWaiters: Array<() => void> = [];

  /** A new, isolated broker (tests use one each); `MemoryBroker.named()` for shared ones. */
  constructor(options: MemoryBrokerOptions = {}) {
    this.name = options.name ?? 'anonymous';
    this.counters = options.counters ?? new MemoryCounters();
    this.logger = options.logger?.child({ broker: `memory://${this.name}` });
  }

  /** Whether the broker accepts sessions. */
  get running(): boolean {
    return this.isRunning;
  }

  /** Number of open sessions (connected clients). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Simulates an outage: cuts every session, loses queued messages, refuses new sessions. */
  stop(): void {
    if (!this.isRunning) return;
    this.isRunning = false;
    this.logger?.warn({ sessions: this.sessions.size }, 'memory broker stopped');
    const cut = [...this.sessions];
    for (const session of cut) session.sever(new ConnectionError(`memory broker ${this.name} stopped`));
  }

  /** Ends an outage: sessions are accepted again and clients waiting in `whenRunning()` resume. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.logger?.info({}, 'memory broker started');
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once the broker runs (at once if it does). */
  whenRunning(): Promise<void> {
    if (this.isRunning) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.push(resolve));
  }

  /**
   * Opens a session for `client`; `onLost` is called (once) if the broker cuts it.
   * Throws ConnectionError while the broker is stopped.
   */
  open(client: string, onLost: (error: ConnectionError) => void): MemorySession {
    if (!this.isRunning) throw new ConnectionError(`memory broker ${this.name} is not running`);
    const session = new MemorySession(this, client, onLost);
    this.sessions.add(session);
    return session;
  }

  /** @internal Binds a destination for a session; reply destinations are exclusive. */
  bind(session: MemorySession, destination: string, deliver: MemoryDeliver): () => void {
    const list = this.bindings.get(destination) ?? [];
    if (isReplyDestination(destination) && list.some((b) => b.session !== session)) {
      throw new InvalidArgumentError(`reply destination ${destination} is owned by another client`);
    }
    const binding: Binding = { session, deliver, queue: new Fifo<MemoryEnvelope>(), draining: false, active: true };
    list.push(binding);
    this.bindings.set(destination, list);
    return () => this.unbind(destination, binding);
  }

  /** @internal Routes a message to every binding of the destination; returns how many received a copy. */
  route(destination: string, envelope: MemoryEnvelope): number {
    this.counters.increment('broker.published');
    const list = this.bindings.get(destination) ?? [];
    if (list.length === 0) {
      // A topic with no subscriber or a reply queue that is gone: the message is dropped, as on a broker.
      this.counters.increment('broker.unroutable');
      this.logger?.debug({ destination }, 'no subscriber: message dropped');
      return 0;
    }
    for (const binding of list) {
      binding.queue.push(envelope);
      this.schedule(binding, destination);
    }
    return list.length;
  }

  /** @internal Forgets a session's bindings (closed by its owner or cut by stop()). */
  drop(session: MemorySession): void {
    this.sessions.delete(session);
    for (const [destination, list] of this.bindings) {
      for (const binding of list.filter((b) => b.session === session)) this.unbind(destination, binding);
    }
  }

  private unbind(destination: string, binding: Binding): void {
    binding.active = false;
    if (binding.queue.length > 0) {
      this.counters.increment('broker.lost', binding.queue.length);
      binding.queue.drain();
    }
    const list = this.bindings.get(destination);
    if (!list) return;
    const remaining = list.filter((b) => b !== binding);
    if (remaining.length === 0) this.bindings.delete(destination);
    else this.bindings.set(destination, remaining);
  }

  private schedule(binding: Binding, destination: string): void {
    if (binding.draining) return;
    binding.draining = true;
    // Deliver on a later tick: a publisher never runs a subscriber's handler inside its own call.
    setImmediate(() => void this.drain(binding, destination));
  }

  private async drain(binding: Binding, destination: string): Promise<void> {
    try {
      while (binding.active && binding.queue.length > 0) {
        const envelope = binding.queue.shift()!;
        if (Date.now() > envelope.expiresAt) {
          this.counters.increment('broker.expired');
          this.logger?.info({ destination, expiredMsAgo: Date.now() - envelope.expiresAt }, 'message expired before delivery: dropped');
          continue;
        }
        this.counters.increment('broker.delivered');
        try {
          await binding.deliver(envelope);
        } catch (error) {
          // The connector reports its handlers' failures; the broker only keeps going.
          this.logger?.debug({ destination, error }, 'delivery callback failed');
        }
      }
    } finally {
      binding.draining = false;
    }
  }
}

/** One client's connection to a MemoryBroker. */
export class MemorySession {
  private open = true;
  private readonly unbinders = new Set<() => void>();

  /** @internal Created by MemoryBroker.open(). */
  constructor(
    private readonly broker: MemoryBroker,
    /** The client's name (its identity), stamped on every message as the sender. */
    readonly client: string,
    private readonly onLost: (error: ConnectionError) => void,
  ) {}

  /** Whether the session is usable. */
  get isOpen(): boolean {
    return this.open;
  }

  /** Receives messages sent to `destination` until the returned function is called or the session ends. */
  bind(destination: string, deliver: MemoryDeliver): () => void {
    this.ensureOpen();
    const unbind = this.broker.bind(this, destination, deliver);
    const unbinder = (): void => {
      this.unbinders.delete(unbinder);
      unbind();
    };
    this.unbinders.add(unbinder);
    return unbinder;
  }

  /** Sends a message; returns how many subscriptions received a copy. Throws ConnectionError when closed. */
  publish(destination: string, envelope: Omit<MemoryEnvelope, 'sender'>): number {
    this.ensureOpen();
    return this.broker.route(destination, { ...envelope, sender: this.client });
  }

  /** Ends the session and its bindings (the owner's disconnect; onLost is not called). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.broker.drop(this);
    this.unbinders.clear();
  }

  /** @internal The broker cuts the session: like close(), and the owner is told. */
  sever(error: ConnectionError): void {
    if (!this.open) return;
    this.close();
    this.onLost(error);
  }

  private ensureOpen(): void {
    if (!this.open) throw new ConnectionError(`memory session of ${this.client} is closed`);
  }
}
