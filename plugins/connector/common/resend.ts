/**
 * Publishing through whatever session the connector has: wait on the ready gate for a connection, publish, and
 * when the connection went away before the broker confirmed (a ConnectionError from the driver), wait for the
 * reconnection and send the same bytes again, all within `publish_timeout`. At-least-once: a message the broker
 * took just before the connection died can arrive twice (the security layer's replay check drops the copy).
 */
import { ConnectionError, PublishError } from '../../../src/errors.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { abortableSleep } from '../pool/failover.js';
import type { ReadyGate } from '../pool/gate.js';
import type { DriverSession, OutboundMessage } from './driver.js';

/** What publishWithResend needs from its connector. */
export interface ResendContext {
  gate: ReadyGate;
  /** The connector's current session, if any. */
  session(): DriverSession | undefined;
  /** Whether the connector was closed. */
  closed(): boolean;
  /** Aborted when the connector closes. */
  signal: AbortSignal;
  publishTimeoutMs: number;
  counterPrefix: string;
  counters: Counters;
  logger: Logger;
}

/** Publishes `message` (described as `what`), resending after a lost connection, within publish_timeout. */
export async function publishWithResend(context: ResendContext, message: OutboundMessage, what: string): Promise<void> {
  const { gate, publishTimeoutMs, signal } = context;
  const deadline = Date.now() + publishTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    await gate.wait(Math.max(0, deadline - Date.now()), what);
    const session = context.session();
    if (!session?.open) {
      if (Date.now() >= deadline) throw new PublishError(`cannot publish ${what}: not connected to any broker within ${publishTimeoutMs / 1000} s (publish_timeout)`);
      await abortableSleep(10, signal);
      continue;
    }
    try {
      await session.publish(message, Math.max(1000, deadline - Date.now()));
      context.counters.increment(`${context.counterPrefix}.published`);
      return;
    } catch (error) {
      // Only a connection that went away before the broker confirmed is worth another try.
      if (!(error instanceof ConnectionError) || context.closed() || Date.now() >= deadline) throw error;
      context.counters.increment(`${context.counterPrefix}.publish_retried`);
      context.logger.warn({ destination: what, attempt, error: error.message }, 'publish not confirmed (connection lost); resending after reconnect');
      if (context.session() === session) await abortableSleep(Math.min(100, Math.max(0, deadline - Date.now())), signal);
    }
  }
}
