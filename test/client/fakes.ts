/**
 * Test doubles for the client library: a transparent (JSON, unsigned) security provider and scripted nodes
 * on a memory broker, so the client's routing and bookkeeping are tested without the crypto or the daemon.
 */
import { NotAddressedToUsError } from '../../src/errors.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../src/inter/message.js';
import type { EncodedRequest, ReplyHandleLookup, SecurityProvider } from '../../src/inter/security.js';
import type { Connector, InboundMessage } from '../../src/inter/connector.js';
import { nameMatcher } from '../../src/filter/regex.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { MemoryBroker, MemoryConnector } from '../../plugins/connector/memory/index.js';

/** JSON "security": hands out a handle per request and refuses replies whose handle the caller no longer finds, like the real provider. */
export class PlainSecurity implements SecurityProvider {
  readonly name = 'plain';
  /** Request ids of every handle made; a test checks the client keeps none once its waits ended. */
  readonly encoded: string[] = [];
  validate(): string[] { return []; }
  callerid(): string { return 'cert=tester'; }
  encodeRequest(request: OutgoingRequest): EncodedRequest {
    this.encoded.push(request.requestid);
    return { wire: Buffer.from(JSON.stringify({ ...request, msgtime: Math.floor(Date.now() / 1000) })), handle: { requestid: request.requestid } };
  }
  decodeRequest(wire: Uint8Array): DecodedRequest {
    return { ...JSON.parse(Buffer.from(wire).toString()), callerid: 'cert=tester', senderProof: 'none', warnings: [], replyContext: null };
  }
  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array {
    return Buffer.from(JSON.stringify({ ...reply, requestid: request.requestid, msgtime: 0, signer: `cert=${reply.senderid}`, senderProof: 'key-name' }));
  }
  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply {
    const reply = JSON.parse(Buffer.from(wire).toString()) as DecodedReply;
    if (handles(reply.requestid)?.requestid !== reply.requestid) throw new NotAddressedToUsError(`reply to ${reply.requestid}, not ours`);
    return reply;
  }
  reload(): void {}
}

/** How a scripted node answers one request: a reply body, several (duplicates), or nothing. */
export type Script = (request: DecodedRequest) => unknown[] | undefined;

/**
 * A node that answers discovery pings and requests to the agents it hosts (`echo` by default), recording how each
 * request reached it (and the filter it carried).
 */
export class FakeNode {
  readonly received: Array<{ agent: string; via: 'broadcast' | 'directed'; requestid: string; filter: DecodedRequest['filter'] }> = [];
  readonly connector: MemoryConnector;
  private readonly security = new PlainSecurity();

  constructor(readonly identity: string, broker: MemoryBroker, private readonly script: Script = echo, readonly agents: readonly string[] = ['echo']) {
    this.connector = new MemoryConnector({ identity, broker, logger: new CapturingLogger(), counters: new MemoryCounters() });
  }

  async start(collective = 'mcollective'): Promise<void> {
    await this.connector.connect();
    for (const agent of ['discovery', ...this.agents]) {
      await this.connector.subscribeBroadcast(collective, agent, (m) => this.handle(m, 'broadcast'));
    }
    await this.connector.subscribeDirected(collective, this.identity, (m) => this.handle(m, 'directed'));
  }

  private async handle(message: InboundMessage, via: 'broadcast' | 'directed'): Promise<void> {
    const request = this.security.decodeRequest(message.body);
    this.received.push({ agent: request.agent, via, requestid: request.requestid, filter: request.filter });
    // Identity filters (plain or /regex/) are honoured so -I requests behave as with the daemon; so are agent filters.
    const identityMatches = request.filter.identity.map((entry) => nameMatcher(entry, 'identity'));
    if (identityMatches.length > 0 && !identityMatches.some((matches) => matches(this.identity))) return;
    if (!request.filter.agent.every((agent) => agent === 'discovery' || this.agents.includes(agent))) return;
    const bodies = request.agent === 'discovery' ? [{ statuscode: 0, statusmsg: 'OK', data: { message: 'pong' } }] : this.script(request);
    for (const body of bodies ?? []) {
      const wire = this.security.encodeReply({ senderid: this.identity, senderagent: request.agent, body }, request);
      await this.connector.publishReply(message.replyTo!, wire, 60);
    }
  }
}

/** The default script: one OK reply echoing the request data. */
export function echo(request: DecodedRequest): unknown[] {
  const body = request.body as { action: string; data: Record<string, unknown> };
  return [{ statuscode: 0, statusmsg: 'OK', data: { echoed: body.data, action: body.action } }];
}

/** A client-side connector on the same broker. */
export function clientConnector(broker: MemoryBroker, identity = 'tester'): Connector {
  return new MemoryConnector({ identity, broker, logger: new CapturingLogger(), counters: new MemoryCounters() });
}
