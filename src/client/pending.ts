/** One outstanding request's reply bookkeeping: who is expected, who answered, and when to stop waiting. */
import { PROVEN_SENDER, type DecodedReply } from '../inter/message.js';
import type { ReplyHandle } from '../inter/security.js';

/**
 * The identity replies are de-duplicated by: the senderid when the signing key proves it; otherwise (a shared key,
 * an unsigned reply) the claimed senderid together with the key that signed it, so that a reply whose name nothing
 * proves can never shadow the proven reply of the node it names.
 */
export function replyIdentity(reply: DecodedReply): string {
  return PROVEN_SENDER.has(reply.senderProof) ? reply.senderid : `${reply.senderid}\0${reply.senderProof}\0${reply.signer}`;
}

/** Called for each first reply from a node. */
export type ReplySink = (reply: DecodedReply, rttMs: number) => void;

/** Tracks the replies of one request id until every expected node answered or the deadline passed. */
export class PendingReplies {
  private readonly seen = new Set<string>();
  private readonly outstanding: Set<string> | null;
  private finish!: () => void;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the wait ran out its timer (false while waiting, and when every expected node answered or end() was called). */
  timedOut = false;
  /** Settles when every expected node answered or the wait was ended. */
  readonly done: Promise<void>;

  constructor(
    readonly requestid: string,
    expected: readonly string[] | null,
    private readonly sentAt: number,
    private readonly now: () => number,
    private readonly sink: ReplySink,
    /** The security provider's handle for this request's replies; dropped with this object when the wait ends. */
    readonly handle?: ReplyHandle,
  ) {
    this.outstanding = expected ? new Set(expected) : null;
    this.done = new Promise<void>((resolve) => { this.finish = resolve; });
    if (this.outstanding && this.outstanding.size === 0) this.end();
  }

  /** Stops waiting after `ms` at the latest. */
  startTimer(ms: number): void {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.end();
    }, ms);
  }

  /** Records a reply; returns false (and ignores it) when this sender (see replyIdentity) already answered. */
  accept(reply: DecodedReply): boolean {
    const identity = replyIdentity(reply);
    if (this.seen.has(identity)) return false;
    this.seen.add(identity);
    this.sink(reply, this.now() - this.sentAt);
    if (this.outstanding) {
      this.outstanding.delete(reply.senderid);
      if (this.outstanding.size === 0) this.end();
    }
    return true;
  }

  /** Ends the wait now. */
  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.finish();
  }
}
