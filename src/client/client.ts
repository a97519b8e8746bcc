/**
 * The RPC client: discovers nodes, publishes signed requests (directed to known nodes when there are few,
 * broadcast otherwise, in batches when asked), and collects the replies until every discovered node answered
 * or the timeout passed. One instance holds one reply subscription per collective it talks to.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, NotAddressedToUsError, RpcError, SecurityError } from '../errors.js';
import type { InboundMessage, ReplySubscription } from '../inter/connector.js';
import type { Logger } from '../inter/logger.js';
import type { DecodedReply, RequestFilter, RpcReplyBody } from '../inter/message.js';
import { StatusCode } from '../inter/message.js';
import { buildFilter, plainIdentityTargets } from './filter.js';
import { applyNodeLimit, limitCount } from './limit.js';
import { PendingReplies, type ReplySink } from './pending.js';
import { newRequestId } from './requestid.js';
import type { RpcReply, RpcResult } from './stats.js';
import { checkName, nameProblem } from '../names.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { CallOptions, Discoverer, PingReply, PingResult, RpcCallOptions, RpcClientOptions } from './call-types.js';

export type { CallOptions, Discoverer, DiscoveryEvent, DiscoveryRequest, PingReply, PingResult, RpcCallOptions, RpcClientOptions } from './call-types.js';

/** The body of a discovery ping: the `discovery` agent's `ping` action (a reply means "this node matches"). */
export const DISCOVERY_PING = Object.freeze({ action: 'ping', data: {} });

interface Exchange {
  agent: string;
  collective: string;
  body: unknown;
  filter: RequestFilter;
  ttl: number;
  timeoutMs: number;
  /** Directed targets; broadcast when absent. */
  directed?: readonly string[];
  /** Nodes whose replies end the wait early; null: wait for the whole timeout. */
  expected: readonly string[] | null;
  sink: ReplySink;
}

/** How one exchange ended. */
interface ExchangeResult {
  requestid: string;
  /** The wait ran out its timeout (not every expected node answered). */
  timedOut: boolean;
}

/** An MCollective-style RPC client over a connector and a client-role security provider. */
export class RpcClient {
  readonly identity: string;
  readonly mainCollective: string;
  private readonly collectives: ReadonlySet<string>;
  private readonly threshold: number;
  private readonly directAddressing: boolean;
  private readonly limitMethod: 'first' | 'random';
  private readonly defaultTtl: number;
  private readonly defaultTimeoutMs: number;
  private readonly defaultDiscoveryMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Rejected replies are an attacker's to cause, one per message: their log lines are rate-limited. */
  private readonly limiter: LogLimiter;
  private readonly pending = new Map<string, PendingReplies>();
  private readonly replySubscriptions = new Map<string, Promise<ReplySubscription>>();
  private closed = false;

  constructor(private readonly options: RpcClientOptions) {
    const problems = RpcClient.check(options);
    if (problems.length > 0) throw new InvalidArgumentError(`RpcClient options:\n  - ${problems.join('\n  - ')}`);
    this.identity = options.identity;
    this.mainCollective = options.mainCollective;
    this.collectives = new Set(options.collectives?.length ? options.collectives : [options.mainCollective]);
    this.threshold = options.directAddressingThreshold ?? 10;
    this.directAddressing = options.directAddressing ?? true;
    this.limitMethod = options.limitMethod ?? 'random';
    this.defaultTtl = options.ttl ?? 60;
    this.defaultTimeoutMs = options.timeoutMs ?? 10_000;
    this.defaultDiscoveryMs = options.discoveryTimeoutMs ?? 2_000;
    this.now = options.now ?? (() => performance.now());
    this.log = options.logger.child({ component: 'client', identity: options.identity });
    this.limiter = new LogLimiter(this.log);
  }

  /** Every problem with the options at once. */
  static check(options: RpcClientOptions): string[] {
    const problems: string[] = [];
    if (!options || typeof options !== 'object') return ['options: expected an object'];
    for (const problem of [nameProblem('identity', 'identity', options.identity), nameProblem('collective', 'mainCollective', options.mainCollective)]) {
      if (problem) problems.push(problem);
    }
    if (!options.connector) problems.push('connector: required');
    if (!options.security) problems.push('security: required');
    if (!options.logger) problems.push('logger: required');
    if (!options.counters) problems.push('counters: required');
    if (options.limitMethod !== undefined && options.limitMethod !== 'first' && options.limitMethod !== 'random') {
      problems.push(`limitMethod: ${JSON.stringify(options.limitMethod)} is not first or random`);
    }
    for (const [key, value, min] of [
      ['directAddressingThreshold', options.directAddressingThreshold, 0],
      ['ttl', options.ttl, 1],
      ['timeoutMs', options.timeoutMs, 1],
      ['discoveryTimeoutMs', options.discoveryTimeoutMs, 1],
    ] as const) {
      if (value !== undefined && (!Number.isFinite(value) || value < min)) problems.push(`${key}: ${value} is not a number >= ${min}`);
    }
    return problems;
  }

  /**
   * Broadcasts a ping to the `discovery` agent and reports each node's round trip; waits the whole
   * timeout (the discovery timeout by default), since nobody knows how many nodes will answer.
   */
  async ping(options: CallOptions = {}): Promise<PingResult> {
    const started = this.now();
    const ignoredBefore = this.ignoredCount();
    const call = this.prepare(options);
    const replies: PingReply[] = [];
    const { requestid } = await this.exchange({
      agent: 'discovery', collective: call.collective, body: DISCOVERY_PING, filter: call.filter, ttl: call.ttl,
      timeoutMs: options.timeoutMs ?? call.discoveryTimeoutMs, expected: null,
      sink: (reply, rttMs) => replies.push({ sender: reply.senderid, rttMs, signer: reply.signer, senderProof: reply.senderProof }),
    });
    const totalMs = this.now() - started;
    return {
      replies,
      stats: {
        discoveryPerformed: false, discovered: 0, responded: replies.length, ok: replies.length, failed: 0,
        discoveryMs: 0, agentMs: totalMs, totalMs, noResponses: [], ignoredReplies: this.ignoredCount() - ignoredBefore, requestids: [requestid],
        timedOut: true,
      },
    };
  }

  /** The nodes matching the call's filter, found with `discoverer` (broadcast discovery by default), sorted. */
  async discover(options: CallOptions & { discoverer?: Discoverer } = {}): Promise<string[]> {
    return (await this.discoverInOrder(options)).sort();
  }

  /**
   * Discovered nodes without duplicates, in the order they were found (what `limitMethod: first` keeps).
   * `agent`: the agent a call is for, added to the filter (as MCollective does) unless the source is identity-only.
   */
  private async discoverInOrder(options: CallOptions & Pick<RpcCallOptions, 'discoverer' | 'onDiscovery'>, agent?: string): Promise<string[]> {
    const call = this.prepare(options);
    const discoverer = options.discoverer ?? this.broadcastDiscoverer();
    const filter = agent === undefined || discoverer.identityOnly || call.filter.agent.includes(agent)
      ? call.filter
      : { ...call.filter, agent: [...call.filter.agent, agent] };
    const started = this.now();
    options.onDiscovery?.({ phase: 'start', method: discoverer.name, timeoutMs: call.discoveryTimeoutMs });
    const nodes = await discoverer.discover({ filter, collective: call.collective, timeoutMs: call.discoveryTimeoutMs });
    const unique = [...new Set(nodes)];
    options.onDiscovery?.({ phase: 'end', method: discoverer.name, nodes: unique.length, ms: this.now() - started });
    this.log.debug({ discoverer: discoverer.name, nodes: unique.length }, 'discovery finished');
    return unique;
  }

  /** Discovery by broadcasting a ping to the `discovery` agent and collecting who answers within the timeout. */
  broadcastDiscoverer(): Discoverer {
    return {
      name: 'mc',
      discover: async (request) => {
        const found: string[] = [];
        await this.exchange({
          agent: 'discovery', collective: request.collective, body: DISCOVERY_PING, filter: request.filter, ttl: this.defaultTtl,
          timeoutMs: request.timeoutMs, expected: null, sink: (reply) => found.push(reply.senderid),
        });
        return found;
      },
    };
  }

  /**
   * Calls `agent`.`action` with `data` on the nodes matching the filter: discovers them (unless `nodes` is given
   * or the filter names plain identities only), the agent added to the discovery filter as MCollective does (so
   * only nodes hosting it are targeted and waited for), applies the node limit, then sends directed requests when
   * the targets are at most the direct-addressing threshold (or when batching or limiting), and a broadcast otherwise.
   */
  async call(agent: string, action: string, data: Record<string, unknown> = {}, options: RpcCallOptions = {}): Promise<RpcResult> {
    checkName('agent', 'agent', agent);
    checkName('action', 'action', action);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InvalidArgumentError('data: expected an object of action inputs');
    const batchSize = options.batchSize;
    if (batchSize !== undefined && (!Number.isSafeInteger(batchSize) || batchSize < 1)) throw new InvalidArgumentError(`batchSize: ${batchSize} is not a whole number >= 1`);
    const batchSleepMs = options.batchSleepMs ?? 1000;
    if (!Number.isFinite(batchSleepMs) || batchSleepMs < 0) throw new InvalidArgumentError(`batchSleepMs: ${batchSleepMs} is not a number >= 0`);
    options.nodes?.forEach((node, index) => checkName('identity', `nodes[${index}]`, node));
    if (options.limitMethod !== undefined && options.limitMethod !== 'first' && options.limitMethod !== 'random') {
      throw new InvalidArgumentError(`limitMethod: ${JSON.stringify(options.limitMethod)} is not first or random`);
    }
    const started = this.now();
    const ignoredBefore = this.ignoredCount();
    const call = this.prepare(options);

    const known = options.nodes ? [...new Set(options.nodes)] : options.discoverer ? null : plainIdentityTargets(call.filter);
    const discovered = known ?? (await this.discoverInOrder({ ...options, filter: call.filter, collective: call.collective }, agent));
    const discoveryMs = this.now() - started;
    const limitMethod = options.limitMethod ?? this.limitMethod;
    const targets = options.limit && limitMethod === 'first'
      ? discovered.slice(0, limitCount(options.limit, discovered.length))
      : applyNodeLimit(discovered, options.limit);
    if (options.limit) this.log.debug({ discovered: discovered.length, kept: targets.length }, 'node limit applied');

    const agentStarted = this.now();
    const items: RpcReply[] = [];
    const requestids: string[] = [];
    let timedOut = false;
    const sink = (reply: DecodedReply, rttMs: number) => {
      const item = this.toRpcReply(agent, action, reply, rttMs);
      items.push(item);
      options.onReply?.(item, { received: items.length, expected: targets.length });
    };
    // Batches and limits only work if exactly the chosen nodes receive the request, so they are always directed.
    const directed = batchSize !== undefined || options.limit !== undefined || (this.directAddressing && targets.length <= this.threshold);
    if (targets.length > 0) {
      const batches = batchSize ? chunk(targets, batchSize) : [targets];
      for (const [index, batch] of batches.entries()) {
        if (index > 0 && batchSleepMs > 0) await sleep(batchSleepMs);
        const ended = await this.exchange({
          agent, collective: call.collective, body: { action, data }, filter: call.filter, ttl: call.ttl,
          timeoutMs: call.timeoutMs, expected: batch, sink, ...(directed ? { directed: batch } : {}),
        });
        requestids.push(ended.requestid);
        timedOut ||= ended.timedOut;
      }
    }
    const finished = this.now();
    const answered = new Set(items.map((item) => item.sender));
    const ok = items.filter((item) => item.statuscode === StatusCode.OK).length;
    return {
      items,
      stats: {
        discoveryPerformed: true, discovered: discovered.length, responded: items.length, ok, failed: items.length - ok,
        discoveryMs, agentMs: finished - agentStarted, totalMs: finished - started,
        noResponses: targets.filter((node) => !answered.has(node)).sort(),
        ignoredReplies: this.ignoredCount() - ignoredBefore, requestids, timedOut,
      },
    };
  }

  /** Unsubscribes the reply destinations and stops every wait; the connector stays connected (the caller owns it). */
  async close(): Promise<void> {
    this.closed = true;
    this.limiter.close();
    for (const pending of this.pending.values()) pending.end();
    const subscriptions = [...this.replySubscriptions.values()];
    this.replySubscriptions.clear();
    for (const subscription of subscriptions) {
      await subscription.then((s) => s.unsubscribe()).catch((error: unknown) => this.log.warn({ error: String(error) }, 'unsubscribing replies failed'));
    }
  }

  private prepare(options: CallOptions): { filter: RequestFilter; collective: string; ttl: number; timeoutMs: number; discoveryTimeoutMs: number } {
    if (this.closed) throw new RpcError('the client is closed');
    const collective = options.collective ?? this.mainCollective;
    if (!this.collectives.has(collective)) {
      throw new InvalidArgumentError(`collective: ${JSON.stringify(collective)} is not one of this client's collectives (${[...this.collectives].join(', ')})`);
    }
    const ttl = options.ttl ?? this.defaultTtl;
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const discoveryTimeoutMs = options.discoveryTimeoutMs ?? this.defaultDiscoveryMs;
    if (!Number.isSafeInteger(ttl) || ttl < 1) throw new InvalidArgumentError(`ttl: ${ttl} is not a whole number of seconds >= 1`);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError(`timeoutMs: ${timeoutMs} is not a positive number`);
    if (!Number.isFinite(discoveryTimeoutMs) || discoveryTimeoutMs <= 0) throw new InvalidArgumentError(`discoveryTimeoutMs: ${discoveryTimeoutMs} is not a positive number`);
    return { filter: buildFilter(options.filter), collective, ttl, timeoutMs, discoveryTimeoutMs };
  }

  /** Publishes one request and collects its replies; resolves to its request id and how the wait ended. */
  private async exchange(exchange: Exchange): Promise<ExchangeResult> {
    const requestid = newRequestId();
    const subscription = await this.replySubscription(exchange.collective);
    // A directed request names its targets in its signed, encrypted filter: a copy delivered to any other node
    // (by a misrouting broker, or by whoever controls the broker) is dropped there as not matching.
    const filter = exchange.directed ? { ...exchange.filter, identity: [...exchange.directed] } : exchange.filter;
    const { wire, handle } = this.options.security.encodeRequest({
      requestid, senderid: this.identity, agent: exchange.agent, collective: exchange.collective,
      filter, ttl: exchange.ttl, body: exchange.body,
    });
    const pending = new PendingReplies(requestid, exchange.expected, this.now(), this.now, exchange.sink, handle);
    this.pending.set(requestid, pending);
    try {
      const base = { collective: exchange.collective, agent: exchange.agent, body: wire, ttl: exchange.ttl, replyTo: subscription.replyTo };
      if (exchange.directed) {
        for (const node of exchange.directed) await this.options.connector.publishRequest({ ...base, node });
      } else {
        await this.options.connector.publishRequest(base);
      }
      this.options.counters.increment('client.requests');
      this.log.debug({ requestid, agent: exchange.agent, mode: exchange.directed ? 'directed' : 'broadcast', targets: exchange.directed?.length }, 'request published');
      pending.startTimer(exchange.timeoutMs);
      await pending.done;
    } finally {
      pending.end();
      this.pending.delete(requestid);
    }
    return { requestid, timedOut: pending.timedOut };
  }

  private replySubscription(collective: string): Promise<ReplySubscription> {
    let subscription = this.replySubscriptions.get(collective);
    if (!subscription) {
      subscription = this.options.connector.subscribeReplies(collective, (message) => this.onReply(message));
      // A failed subscribe must not poison later attempts.
      subscription.catch(() => this.replySubscriptions.delete(collective));
      this.replySubscriptions.set(collective, subscription);
    }
    return subscription;
  }

  private onReply(message: InboundMessage): void {
    let reply: DecodedReply;
    try {
      reply = this.options.security.decodeReply(message.body, (id) => this.pending.get(id)?.handle);
    } catch (error) {
      if (error instanceof NotAddressedToUsError) {
        this.ignore('unexpected', { reason: error.message, sender: message.sender }, 'reply for a request this client is not waiting for');
      } else if (error instanceof SecurityError) {
        this.options.counters.increment(`client.replies.rejected.${error.code}`);
        this.ignore('rejected', { code: error.code, reason: error.message, sender: message.sender }, `reply rejected by the security provider: ${error.message}`, 'warn', error.code);
      } else {
        this.ignore('rejected', { reason: String(error), sender: message.sender }, 'reply could not be decoded', 'error');
      }
      return;
    }
    const pending = this.pending.get(reply.requestid);
    if (!pending) {
      this.ignore('unexpected', { requestid: reply.requestid, sender: reply.senderid }, 'reply for a request this client is not waiting for');
      return;
    }
    if (!pending.accept(reply)) {
      this.ignore('duplicate', { requestid: reply.requestid, sender: reply.senderid, signer: reply.signer, senderProof: reply.senderProof }, 'duplicate reply ignored');
      return;
    }
    this.options.counters.increment('client.replies.accepted');
  }

  private ignore(kind: 'unexpected' | 'duplicate' | 'rejected', fields: Record<string, unknown>, msg: string, level: 'debug' | 'warn' | 'error' = 'debug', code?: string): void {
    this.options.counters.increment(`client.replies.${kind}`);
    this.options.counters.increment('client.replies.ignored');
    this.limiter.log(level, code ? `${kind}.${code}` : kind, { ...fields, kind }, msg);
  }

  private ignoredCount(): number {
    return this.options.counters.get('client.replies.ignored');
  }

  private toRpcReply(agent: string, action: string, reply: DecodedReply, rttMs: number): RpcReply {
    const problem = replyBodyProblem(reply.body);
    if (problem) {
      this.options.counters.increment('client.replies.malformed_body');
      this.log.warn({ requestid: reply.requestid, sender: reply.senderid, problem }, 'reply body is not an RPC reply');
    }
    // One object per reply, built once: a fleet's replies all pass here.
    const body = problem ? { statuscode: StatusCode.Error, statusmsg: `malformed reply body: ${problem}`, data: {} } : (reply.body as RpcReplyBody);
    return {
      agent, action, sender: reply.senderid, statuscode: body.statuscode, statusmsg: body.statusmsg, data: body.data,
      signer: reply.signer, senderProof: reply.senderProof, rttMs,
    };
  }
}

/** Why `body` is not an RPC reply body `{statuscode, statusmsg, data}`, or null when it is one. */
export function replyBodyProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'expected an object';
  const { statuscode, statusmsg, data } = body as Record<string, unknown>;
  if (!Number.isInteger(statuscode) || (statuscode as number) < 0 || (statuscode as number) > 5) return `statuscode ${JSON.stringify(statuscode)} is not 0..5`;
  if (typeof statusmsg !== 'string') return 'statusmsg is not a string';
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'data is not an object';
  return null;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
