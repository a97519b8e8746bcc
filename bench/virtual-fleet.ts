/**
 * Virtual nodes for client-side scale tests: one subscriber per agent stands for a whole fleet. For each request it
 * receives (with a reply-to), it asks its plan for the replies of that request and publishes them, `batch` per tick,
 * so they stream in while the client works, as a fleet's replies do. The server side costs one decode per request
 * (the plan's), not one per node: what is measured is the client.
 */
import type { Connector, InboundMessage, Subscription } from '../src/inter/connector.js';

/** The replies a fleet gives to one request, or undefined to give none. */
export interface ReplyPlan {
  count: number;
  /** The wire of reply `index` (0 <= index < count). */
  encode(index: number): Uint8Array;
}

/** What a VirtualFleet is built from. */
export interface VirtualFleetOptions {
  /** A connected connector (daemon role) the fleet subscribes and replies with. */
  connector: Connector;
  collective: string;
  /** The agents the fleet hosts (their broadcast requests are answered). */
  agents: readonly string[];
  /** The replies to a request (the request's wire bytes and its agent). */
  plan(request: Uint8Array, agent: string): ReplyPlan | undefined;
  /** Replies published per tick; 64 by default. */
  batch?: number;
  /** Reply TTL in seconds; 60 by default. */
  ttl?: number;
}

/** A fleet of virtual nodes answering broadcasts. */
export class VirtualFleet {
  private readonly subscriptions: Subscription[] = [];
  /** Replies published so far. */
  published = 0;
  private failure: Error | undefined;

  private constructor(private readonly options: VirtualFleetOptions) {}

  /** Subscribes to the agents' broadcasts. */
  static async start(options: VirtualFleetOptions): Promise<VirtualFleet> {
    const fleet = new VirtualFleet(options);
    for (const agent of options.agents) {
      fleet.subscriptions.push(await options.connector.subscribeBroadcast(options.collective, agent, (message) => fleet.answer(message, agent)));
    }
    return fleet;
  }

  /** The first failure to publish a reply, if any (rethrown here so a bench or test sees it). */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Unsubscribes. */
  async stop(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) await subscription.unsubscribe();
  }

  private answer(message: InboundMessage, agent: string): void {
    const replyTo = message.replyTo;
    const plan = replyTo === undefined ? undefined : this.options.plan(message.body, agent);
    if (!plan || replyTo === undefined) return;
    const batch = this.options.batch ?? 64;
    const ttl = this.options.ttl ?? 60;
    let next = 0;
    const tick = (): void => {
      const end = Math.min(plan.count, next + batch);
      const sends: Array<Promise<void>> = [];
      for (; next < end; next++) sends.push(this.options.connector.publishReply(replyTo, plan.encode(next), ttl));
      this.published += sends.length;
      Promise.all(sends).then(() => (next < plan.count ? setImmediate(tick) : undefined), (error: Error) => { this.failure ??= error; });
    };
    setImmediate(tick);
  }
}
