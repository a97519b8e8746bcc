/**
 * Acknowledgements of registrations: a collecting registration agent that stored a record replies, signed, with
 * status 0 and `{stored: true, identity}` to the registration's reply-to. This module owns the daemon's reply
 * subscription for them and matches each reply to the attempt waiting for it. Replies the security provider
 * refuses are counted (`registration.ack_rejected`, and by code `registration.ack_rejected.<CODE>`) and logged
 * through the limiter; they never settle an attempt, which then times out.
 */
import { SecurityError } from '../errors.js';
import type { Connector, InboundMessage, ReplySubscription } from '../inter/connector.js';
import type { Counters } from '../inter/logger.js';
import type { RpcReplyBody } from '../inter/message.js';
import type { ReplyHandle, SecurityProvider } from '../inter/security.js';
import type { LogLimiter } from '../util/log-limiter.js';

/** How one registration attempt ended. */
export type AttemptOutcome =
  | { kind: 'acknowledged'; signer: string }
  /** A collector answered with a non-OK status (not authorized, sender not bound, malformed): retrying will not help. */
  | { kind: 'refused'; signer: string; statuscode: number; statusmsg: string }
  /** Published in a protocol that has no acknowledgement (version 1, as MCollective): nothing to wait for. */
  | { kind: 'unacknowledged' }
  | { kind: 'failed'; reason: string };

interface Waiting {
  settle(outcome: AttemptOutcome): void;
  timer?: NodeJS.Timeout;
}

/** What Acknowledgements works with. */
export interface AcknowledgementOptions {
  identity: string;
  collective: string;
  provider: SecurityProvider;
  connector: Connector;
  counters: Counters;
  limiter: LogLimiter;
}

/** Registrations whose reply handles are kept at most (the oldest is dropped beyond it). */
const MAX_KEPT_HANDLES = 1024;

/** The reply subscription of the registration publisher and the attempts waiting on it. */
export class Acknowledgements {
  private subscription: ReplySubscription | undefined;
  private readonly waiting = new Map<string, Waiting>();
  /**
   * Reply handles of recent registrations, kept for their ttl even after the attempt ended, so a late or second
   * collector's acknowledgement still decodes (and is counted as unmatched rather than refused).
   */
  private readonly handles = new Map<string, { handle: ReplyHandle; expiresAt: number }>();

  constructor(private readonly options: AcknowledgementOptions) {}

  /** The reply-to registrations carry (after open()). */
  get replyTo(): string | undefined {
    return this.subscription?.replyTo;
  }

  /** Attempts waiting for their acknowledgement. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Subscribes the reply destination (survives reconnects, like every subscription). */
  async open(): Promise<void> {
    this.subscription ??= await this.options.connector.subscribeReplies(this.options.collective, (message) => this.receive(message));
  }

  /**
   * Starts waiting for the acknowledgement of `requestid`; `arm(ms)` on the result starts the bound once the
   * registration is published (an acknowledgement may even arrive before the publish resolves); `published()`
   * ends the wait at once for a registration that cannot be acknowledged (EncodedRequest.oneWay).
   */
  expect(requestid: string): { outcome: Promise<AttemptOutcome>; arm(ms: number): void; cancel(reason: string): void; published(): void } {
    let settle!: (outcome: AttemptOutcome) => void;
    const outcome = new Promise<AttemptOutcome>((resolve) => { settle = resolve; });
    const entry: Waiting = {
      settle: (result) => {
        clearTimeout(entry.timer);
        if (this.waiting.get(requestid) === entry) this.waiting.delete(requestid);
        settle(result);
      },
    };
    this.waiting.set(requestid, entry);
    return {
      outcome,
      arm: (ms) => {
        if (this.waiting.get(requestid) !== entry) return;
        entry.timer = setTimeout(() => entry.settle({ kind: 'failed', reason: `no acknowledgement within ${ms} ms` }), ms);
        entry.timer.unref();
      },
      cancel: (reason) => entry.settle({ kind: 'failed', reason }),
      published: () => entry.settle({ kind: 'unacknowledged' }),
    };
  }

  /** Keeps the reply handle of a published registration for `ttlSeconds`. */
  keep(handle: ReplyHandle, ttlSeconds: number): void {
    const now = Date.now();
    for (const [requestid, kept] of this.handles) {
      if (kept.expiresAt > now && this.handles.size < MAX_KEPT_HANDLES) break;
      this.handles.delete(requestid);
    }
    this.handles.set(handle.requestid, { handle, expiresAt: now + ttlSeconds * 1000 });
  }

  /** Settles every waiting attempt as failed (stop) and unsubscribes. */
  async close(reason: string): Promise<void> {
    for (const entry of [...this.waiting.values()]) entry.settle({ kind: 'failed', reason });
    const subscription = this.subscription;
    this.subscription = undefined;
    this.handles.clear();
    await subscription?.unsubscribe().catch(() => undefined);
  }

  private handleOf(requestid: string): ReplyHandle | undefined {
    const kept = this.handles.get(requestid);
    if (!kept || kept.expiresAt <= Date.now()) return undefined;
    return kept.handle;
  }

  private receive(message: InboundMessage): void {
    const { provider, counters, limiter, identity } = this.options;
    let reply;
    try {
      reply = provider.decodeReply(message.body, (requestid) => this.handleOf(requestid));
    } catch (error) {
      const code = error instanceof SecurityError ? error.code : 'TSC_SEC_INTERNAL';
      counters.increment('registration.ack_rejected');
      counters.increment(`registration.ack_rejected.${code}`);
      limiter.log('warn', `registration.ack_rejected.${code}`, { code, sender: message.sender, err: error },
        `registration acknowledgement refused by the security provider: ${(error as Error).message}`);
      return;
    }
    const entry = this.waiting.get(reply.requestid);
    if (!entry) {
      // The attempt already ended (its bound passed, or another collector answered first): stored all the same.
      counters.increment('registration.unmatched_acknowledgements');
      limiter.log('info', 'registration.unmatched_acknowledgements', { requestid: reply.requestid, signer: reply.signer },
        `acknowledgement of registration ${reply.requestid} from ${reply.signer} arrived when no attempt waited for it`);
      return;
    }
    const body = reply.body as Partial<RpcReplyBody> | null;
    const data = body?.data as { stored?: unknown; identity?: unknown } | undefined;
    if (body?.statuscode === 0 && data?.stored === true && data.identity === identity) {
      entry.settle({ kind: 'acknowledged', signer: reply.signer });
      return;
    }
    entry.settle({
      kind: 'refused',
      signer: reply.signer,
      statuscode: typeof body?.statuscode === 'number' ? body.statuscode : -1,
      statusmsg: typeof body?.statusmsg === 'string' ? body.statusmsg : 'not an acknowledgement',
    });
  }
}
