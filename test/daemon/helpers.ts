/** Shared helpers of the daemon tests: a tiny RPC client over a memory bus, waiting helpers. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';
import type { Connector, ReplySubscription } from '../../src/inter/connector.js';
import type { DecodedReply, RequestFilter, RpcReplyBody } from '../../src/inter/message.js';
import type { ReplyHandle, SecurityProvider } from '../../src/inter/security.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tsc-daemon-${prefix}-`));
}

/** Polls `condition` every few milliseconds until it holds; fails after `limitMs` (a hang guard, not a timing assertion). */
export async function waitFor(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A filter with the given lists set. */
export function filter(parts: Partial<RequestFilter> = {}): RequestFilter {
  return { fact: [], cf_class: [], agent: [], identity: [], compound: [], ...parts };
}

/** A client on a memory broker that sends RPC requests and collects decoded replies. */
export class TestClient {
  readonly replies: DecodedReply[] = [];
  readonly connector: Connector;
  /** Reply handles of the requests sent (never forgotten: tests look at every reply). */
  readonly handles = new Map<string, ReplyHandle>();
  private subscription: ReplySubscription | undefined;

  constructor(readonly broker: MemoryBroker, readonly security: SecurityProvider, readonly collective = 'mcollective') {
    this.connector = new MemoryConnector({ identity: 'client.example', logger: new CapturingLogger(), counters: new MemoryCounters(), broker });
  }

  async start(): Promise<void> {
    await this.connector.connect();
    this.subscription = await this.connector.subscribeReplies(this.collective, (message) => {
      this.replies.push(this.security.decodeReply(message.body, (requestid) => this.handles.get(requestid)));
    });
  }

  /** Sends a request; returns its request id. */
  async send(agent: string, body: unknown, options: { filter?: RequestFilter; node?: string; ttl?: number; msgtime?: number; collective?: string; senderid?: string } = {}): Promise<string> {
    const requestid = randomBytes(16).toString('hex');
    const collective = options.collective ?? this.collective;
    const ttl = options.ttl ?? 60;
    const { wire, handle } = this.security.encodeRequest({
      requestid, senderid: options.senderid ?? 'client.example', agent, collective, filter: options.filter ?? filter(), ttl, body,
      ...(options.msgtime !== undefined ? { msgtime: options.msgtime } : {}),
    });
    this.handles.set(requestid, handle);
    await this.connector.publishRequest({ collective, agent, body: wire, ttl, replyTo: this.subscription!.replyTo, ...(options.node ? { node: options.node } : {}) });
    return requestid;
  }

  /** Sends an RPC request and waits for `count` replies to it. */
  async call(agent: string, action: string, data: Record<string, unknown> = {}, options: Parameters<TestClient['send']>[2] & { count?: number } = {}): Promise<(DecodedReply & { body: RpcReplyBody })[]> {
    const requestid = await this.send(agent, { action, data }, options);
    const count = options.count ?? 1;
    await waitFor(() => this.repliesTo(requestid).length >= count, `${count} replies to ${agent}#${action}`);
    return this.repliesTo(requestid);
  }

  repliesTo(requestid: string): (DecodedReply & { body: RpcReplyBody })[] {
    return this.replies.filter((reply) => reply.requestid === requestid) as (DecodedReply & { body: RpcReplyBody })[];
  }

  async stop(): Promise<void> {
    await this.connector.disconnect();
  }
}
