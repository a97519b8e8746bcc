/**
 * The daemon's subscriptions: the broadcast destination of each hosted agent in each collective, plus this
 * node's directed destination in each collective. `sync()` brings them in line with the hosted agents (after a
 * reload), subscribing what is new and unsubscribing what is gone; directed subscriptions stay until `clear()`.
 */
import type { Connector, MessageHandler, Subscription } from '../inter/connector.js';
import type { Logger } from '../inter/logger.js';

/** What a SubscriptionSet subscribes with. */
export interface SubscriptionSetOptions {
  connector: Connector;
  identity: string;
  collectives: readonly string[];
  /** Receives every request of every subscription. */
  handler: MessageHandler;
  logger: Logger;
}

const DIRECTED = 'directed:';

/** Broadcast subscriptions keyed `<collective>/<agent>`, directed ones `directed:<collective>`. */
export class SubscriptionSet {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(private readonly options: SubscriptionSetOptions) {}

  /** Subscribes each agent's broadcast destination in every collective and drops the others; adds directed ones. */
  async sync(agents: Iterable<string>): Promise<void> {
    const { connector, identity, collectives, handler, logger } = this.options;
    const wanted = new Set<string>();
    for (const collective of collectives) {
      for (const agent of agents) wanted.add(`${collective}/${agent}`);
    }
    for (const [key, subscription] of this.subscriptions) {
      if (key.startsWith(DIRECTED) || wanted.has(key)) continue;
      await subscription.unsubscribe();
      this.subscriptions.delete(key);
      logger.info({ subscription: key }, 'unsubscribed');
    }
    for (const key of wanted) {
      if (this.subscriptions.has(key)) continue;
      const [collective, agent] = key.split('/') as [string, string];
      this.subscriptions.set(key, await connector.subscribeBroadcast(collective, agent, handler));
    }
    for (const collective of collectives) {
      const key = `${DIRECTED}${collective}`;
      if (!this.subscriptions.has(key)) this.subscriptions.set(key, await connector.subscribeDirected(collective, identity, handler));
    }
  }

  /** Unsubscribes everything (stop: no new requests); failures are ignored, the connector closes next. */
  async clear(): Promise<void> {
    const all = [...this.subscriptions.values()];
    this.subscriptions.clear();
    await Promise.allSettled(all.map((subscription) => subscription.unsubscribe()));
  }

  /** The subscription keys, for diagnostics and tests. */
  keys(): string[] {
    return [...this.subscriptions.keys()].sort();
  }
}
