/**
 * The subscriptions of one connector, kept across reconnects: each has its route and its serial Dispatcher, and
 * remembers which session it is bound on. A new session gets every subscription bound (including ones added
 * while it was being bound) before the connector reports `connected`; a lost session leaves them all unbound
 * until the next one.
 */
import type { MessageHandler } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { Dispatcher, type LimitedLog } from './dispatch.js';
import { type Deliver, type DriverSession, type SubscribeRoute, describeRoute } from './driver.js';

/** One subscription. */
export interface LiveSubscription {
  readonly route: SubscribeRoute;
  /** The route in words, for logs and errors. */
  readonly where: string;
  readonly dispatcher: Dispatcher;
  readonly deliver: Deliver;
  /** The session it is bound on, and how to undo that binding. */
  session?: DriverSession;
  undo?: () => void;
}

/** What the registry needs from its connector. */
export interface RegistryContext {
  counterPrefix: string;
  counters: Counters;
  log: LimitedLog;
  logger: Logger;
}

/** The live subscriptions of a connector. */
export class SubscriptionRegistry {
  private readonly live = new Set<LiveSubscription>();

  constructor(private readonly context: RegistryContext) {}

  /** How many subscriptions there are. */
  get size(): number {
    return this.live.size;
  }

  /** Adds a subscription (not bound yet) delivering `route` to `handler`. */
  add(route: SubscribeRoute, handler: MessageHandler): LiveSubscription {
    const where = describeRoute(route);
    const { counterPrefix, counters, log } = this.context;
    const dispatcher = new Dispatcher(where, handler, { counterPrefix, counters, log });
    const subscription: LiveSubscription = { route, where, dispatcher, deliver: (message, expiresAt) => dispatcher.deliver(message, expiresAt) };
    this.live.add(subscription);
    return subscription;
  }

  /** Removes a subscription: its waiting messages are discarded and its binding undone (best effort). */
  remove(subscription: LiveSubscription): boolean {
    if (!this.live.delete(subscription)) return false;
    subscription.dispatcher.stop();
    const undo = subscription.undo;
    delete subscription.undo;
    delete subscription.session;
    try {
      undo?.();
    } catch (error) {
      this.context.logger.debug({ destination: subscription.where, error: (error as Error).message }, 'unsubscribe failed (the connection is gone)');
    }
    return true;
  }

  /** Binds `subscription` on `session`; undone at once when it was removed or the session died meanwhile. */
  async bind(subscription: LiveSubscription, session: DriverSession): Promise<void> {
    const undo = await session.subscribe(subscription.route, subscription.deliver);
    if (!this.live.has(subscription) || !session.open) {
      undo();
      return;
    }
    subscription.session = session;
    subscription.undo = undo;
  }

  /** Binds every subscription not yet bound on `session`, including ones added meanwhile. */
  async bindAll(session: DriverSession): Promise<void> {
    for (let pending = this.unboundOn(session); pending.length > 0; pending = this.unboundOn(session)) {
      for (const subscription of pending) await this.bind(subscription, session);
    }
  }

  /** Forgets every binding (the session is gone). */
  detachAll(): void {
    for (const subscription of this.live) {
      delete subscription.session;
      delete subscription.undo;
    }
  }

  /** Stops every subscription for good (the connector closes; the session goes with it). */
  clear(): void {
    for (const subscription of this.live) subscription.dispatcher.stop();
    this.live.clear();
  }

  private unboundOn(session: DriverSession): LiveSubscription[] {
    return [...this.live].filter((subscription) => subscription.session !== session);
  }
}
