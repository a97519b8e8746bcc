/**
 * ActiveMQ naming, as MCollective 2.x's activemq connector: broadcast on
 * `/topic/<collective>.<agent>.agent`, directed on `/queue/<collective>.nodes` with header
 * `mc_identity` and a subscription selector, replies on `/queue/<collective>.reply.<identity>_<pid>.<seq>`,
 * TTL as an absolute `expires` plus `timestamp`.
 */
import { TTL_GRACE_SECONDS } from './options.js';
import { type ReplyTarget, type SendTarget, type StompDialect, type SubscribeTarget, parseEpochMs } from './dialect.js';

/** The ActiveMQ dialect. Names reaching it are already checked (no quotes, no wildcards). */
export class ActiveMqDialect implements StompDialect {
  readonly flavor = 'activemq' as const;

  broadcastSubscription(collective: string, agent: string): SubscribeTarget {
    return { destination: `/topic/${collective}.${agent}.agent`, headers: {} };
  }

  directedSubscription(collective: string, identity: string): SubscribeTarget {
    // Names are checked against [A-Za-z0-9_.:@-], so no quote can break out of the selector.
    return { destination: `/queue/${collective}.nodes`, headers: { selector: `mc_identity = '${identity}'` } };
  }

  broadcastSend(collective: string, agent: string): SendTarget {
    return { destination: `/topic/${collective}.${agent}.agent`, headers: {} };
  }

  directedSend(collective: string, _agent: string, node: string): SendTarget {
    return { destination: `/queue/${collective}.nodes`, headers: { mc_identity: node } };
  }

  replyTarget(collective: string, identity: string, sequence: number): ReplyTarget {
    const destination = `/queue/${collective}.reply.${identity}_${process.pid}.${sequence}`;
    return { replyTo: destination, subscribe: { destination, headers: {} } };
  }

  replySubscription(replyTo: string): Omit<ReplyTarget, 'replyTo'> {
    return { subscribe: { destination: replyTo, headers: {} } };
  }

  checkReplyTo(replyTo: string): string | undefined {
    return /^\/(queue|topic|temp-queue|temp-topic)\/[^\s/]+$/.test(replyTo)
      ? undefined
      : 'an ActiveMQ reply destination looks like /queue/<name> (or /topic/, /temp-queue/, /temp-topic/)';
  }

  ttlHeaders(ttlSeconds: number, nowMs: number): Record<string, string> {
    return {
      expires: String(Math.round(nowMs + (ttlSeconds + TTL_GRACE_SECONDS) * 1000)),
      timestamp: String(Math.round(nowMs)),
    };
  }

  expiresAt(headers: Readonly<Record<string, string>>): number | undefined {
    // ActiveMQ reports "expires: 0" for messages without expiry.
    return parseEpochMs(headers.expires);
  }
}
