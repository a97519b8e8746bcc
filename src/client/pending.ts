/** One outstanding request's reply bookkeeping: who is expected, who answered, and when to stop waiting. */
import type { DecodedReply } from '../inter/message.js';

/** Called for each first reply from a node. */
export type ReplySink = (reply: DecodedReply, rttMs: number) => void;

/** Tracks the replies of one request id until every expected node answered or the deadline passed. */
export class PendingReplies {
  /** Senders that answered, in arrival order. */
  readonly responders: string[] = [];
  private readonly seen = new Set<string>();
  private readonly outstanding: Set<string> | null;
  private finish!: () => void;
  private timer: NodeJS.Timeout | undefined;
  /** Settles when every expected node answered or the wait was ended. */
  readonly done: Promise<void>;

  constructor(
    readonly requestid: string,
    expected: readonly string[] | null,
    private readonly sentAt: number,
    private readonly now: () => number,
    private readonly sink: ReplySink,
  ) {
    this.outstanding = expected ? new Set(expected) : null;
    this.done = new Promise<void>((resolve) => { this.finish = resolve; });
    if (this.outstanding && this.outstanding.size === 0) this.end();
  }

  /** Stops waiting after `ms` at the latest. */
  startTimer(ms: number): void {
    this.timer = setTimeout(() => this.end(), ms);
  }

  /** Records a reply; returns false (and ignores it) when this sender already answered. */
  accept(reply: DecodedReply): boolean {
    if (this.seen.has(reply.senderid)) return false;
    this.seen.add(reply.senderid);
    this.responders.push(reply.senderid);
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
