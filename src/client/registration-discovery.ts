/**
 * `--dm registration`: discovery from what nodes registered, which knows their facts, classes and agents, so every
 * filter kind is answered without asking the nodes. Two ways, one answer:
 * - over the network (RegistrationQueryDiscoverer, needs no setting): the client finds the collectors by the agent
 *   they host (`registration_query`, broadcast discovery with `-A registration_query`), asks each for the matching
 *   nodes through the authorized, audited action `registration_query#find` (a page at a time), and takes the union
 *   of their signed answers;
 * - from a store the client's configuration names (RegistrationDiscoverer), read directly: the fast path on a
 *   collector's host or for a shared PostgreSQL store.
 * Both remember how each node's registration was proved, so `tsco discover` can mark names a shared key (or an
 * unproven collector) vouches for.
 */
import { RpcError } from '../errors.js';
import type { RegisteredIdentity, RegistrationStore } from '../inter/registration.js';
import type { Logger } from '../inter/logger.js';
import { PROVEN_SENDER, StatusCode, type SenderProof } from '../inter/message.js';
import { nameProblem } from '../names.js';
import type { Discoverer, DiscoveryRequest, RpcCallOptions } from './client.js';
import type { RpcReply, RpcResult } from './stats.js';

/** The most nodes one discovery accepts (from every collector together); more is refused with a clear error. */
export const MAX_REGISTRATION_NODES = 200_000;
/** Nodes per page of the local store. */
const LOCAL_PAGE = 10_000;
/** The agent collectors host, and its action. */
export const REGISTRATION_QUERY_AGENT = 'registration_query';

/** How a discovered node's name was proved. */
export interface DiscoveredRegistration {
  readonly identity: string;
  /** `cert=<name>` of the key that signed the node's last registration. */
  readonly signer: string;
  /** How that key proved the identity (`shared`: a key several servers share; `unknown`: imported old records). */
  readonly senderProof: string;
  /** The collector that reported it (network discovery), and how the collector's own reply was proved. */
  readonly collector?: { readonly identity: string; readonly signer: string; readonly senderProof: SenderProof };
  /** Whether the name is proven: a proven registration, reported by a proven collector (or read locally). */
  readonly authenticated: boolean;
}

/** A Discoverer that knows how each node it found registered. */
export interface RegistrationAwareDiscoverer extends Discoverer {
  /** What the last discover() learnt of each node it returned. */
  readonly registrations: ReadonlyMap<string, DiscoveredRegistration>;
}

/** What a name is marked with when it is not proven (for text output), or undefined when it is. */
export function registrationLabel(registration: DiscoveredRegistration | undefined): string | undefined {
  if (!registration || registration.authenticated) return undefined;
  const { collector } = registration;
  if (collector && !PROVEN_SENDER.has(collector.senderProof)) {
    return `[unauthenticated: reported by collector ${collector.identity}, whose reply is signed by ${collector.senderProof === 'shared' ? 'shared key ' : ''}${collector.signer}]`;
  }
  if (registration.senderProof === 'shared') return `[unauthenticated name: registered with shared key ${registration.signer}]`;
  return `[unauthenticated name: registration proved as ${registration.senderProof} by ${registration.signer}]`;
}

function tooMany(source: string): RpcError {
  return new RpcError(`--dm registration: more than ${MAX_REGISTRATION_NODES} nodes match in ${source}; narrow the filter`);
}

/** Options of RegistrationDiscoverer. */
export interface RegistrationDiscoveryOptions {
  /** Nodes not seen for this many seconds are stale and left out (`plugin.registration.stale_after`). */
  staleAfterSeconds: number;
}

/**
 * Discovery from a registration store read directly: the active nodes of the collective whose registered identity,
 * facts, classes and agents match the filter. `store` is a store the caller owns, or a function opening one for
 * each discovery (closed after it).
 */
export class RegistrationDiscoverer implements RegistrationAwareDiscoverer {
  readonly name = 'registration';
  private found = new Map<string, DiscoveredRegistration>();

  constructor(private readonly store: RegistrationStore | (() => Promise<RegistrationStore>), private readonly options: RegistrationDiscoveryOptions) {}

  get registrations(): ReadonlyMap<string, DiscoveredRegistration> {
    return this.found;
  }

  async discover(request: DiscoveryRequest): Promise<string[]> {
    const store = typeof this.store === 'function' ? await this.store() : this.store;
    try {
      const query = { filter: request.filter, collective: request.collective, seenSince: Date.now() - this.options.staleAfterSeconds * 1000 };
      const found = new Map<string, DiscoveredRegistration>();
      let after: string | undefined;
      for (;;) {
        const page = await store.find(query, { limit: LOCAL_PAGE, ...(after !== undefined ? { after } : {}) });
        for (const node of page.nodes) found.set(node.identity, local(node));
        if (found.size > MAX_REGISTRATION_NODES) throw tooMany(`the store ${store.location}`);
        if (!page.more || page.nodes.length === 0) break;
        after = page.nodes.at(-1)!.identity;
      }
      this.found = found;
      return [...found.keys()];
    } finally {
      if (typeof this.store === 'function') await store.close();
    }
  }
}

function local(node: RegisteredIdentity): DiscoveredRegistration {
  return { identity: node.identity, signer: node.signer, senderProof: node.senderProof, authenticated: PROVEN_SENDER.has(node.senderProof as SenderProof) };
}

/** What the network discoverer needs of the client: calling an action. */
export interface ActionCaller {
  call(agent: string, action: string, data?: Record<string, unknown>, options?: RpcCallOptions): Promise<RpcResult>;
}

/** Options of RegistrationQueryDiscoverer. */
export interface RegistrationQueryOptions {
  /** Hears collectors that failed while others answered (the discovery goes on with the others). */
  logger?: Logger;
  /** Milliseconds to wait for each collector's answer; the client's default when omitted. */
  timeoutMs?: number;
  /** The most nodes each answer holds (find's `limit`); the collector's default (5,000) when omitted. */
  pageSize?: number;
}

/** One collector's answer so far. */
interface CollectorAnswer {
  reply: RpcReply;
  nodes: Array<{ identity: string; signer: string; senderProof: string }>;
  more: boolean;
}

/**
 * Discovery over the network: asks every collector (the daemons hosting `registration_query`) for the nodes that
 * match, through `registration_query#find`, and takes the union of their complete answers. Each page is checked
 * (valid names, sorted, after the previous page). Fails with RpcError when no collector answered completely (the
 * reasons are listed) or more than MAX_REGISTRATION_NODES nodes match; a collector failing while another answered
 * is logged and left out.
 */
export class RegistrationQueryDiscoverer implements RegistrationAwareDiscoverer {
  readonly name = 'registration';
  private found = new Map<string, DiscoveredRegistration>();

  constructor(private readonly client: ActionCaller, private readonly options: RegistrationQueryOptions = {}) {}

  get registrations(): ReadonlyMap<string, DiscoveredRegistration> {
    return this.found;
  }

  async discover(request: DiscoveryRequest): Promise<string[]> {
    const { pageSize } = this.options;
    const data = (after?: string): Record<string, unknown> => ({
      filter: request.filter, collective: request.collective, ...(after !== undefined ? { after } : {}), ...(pageSize !== undefined ? { limit: pageSize } : {}),
    });
    const timing = { collective: request.collective, ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}) };
    const first = await this.client.call(REGISTRATION_QUERY_AGENT, 'find', data(), {
      ...timing, filter: { agent: [REGISTRATION_QUERY_AGENT] }, discoveryTimeoutMs: request.timeoutMs,
    });
    const problems: string[] = first.stats.noResponses.map((collector) => `${collector}: no answer`);
    const found = new Map<string, DiscoveredRegistration>();
    let answered = 0;
    for (const reply of first.items) {
      // A collector's pages count only once it answered to the end: a collector failing half-way is left out whole.
      const pages: CollectorAnswer[] = [];
      let held = 0;
      let answer = this.read(reply, undefined);
      while (typeof answer !== 'string') {
        pages.push(answer);
        held += answer.nodes.length;
        if (found.size + held > MAX_REGISTRATION_NODES) throw tooMany('the collectors\' answers');
        if (!answer.more) break;
        const after = answer.nodes.at(-1)!.identity;
        const next = await this.client.call(REGISTRATION_QUERY_AGENT, 'find', data(after), { ...timing, nodes: [reply.sender] });
        const again = next.items.find((item) => item.sender === reply.sender && item.signer === reply.signer);
        answer = again ? this.read(again, after) : 'no answer to the next page';
      }
      if (typeof answer === 'string') {
        problems.push(`${reply.sender}: ${answer}`);
        continue;
      }
      for (const page of pages) this.add(found, page);
      answered++;
    }
    if (answered === 0) {
      if (problems.length === 0) {
        throw new RpcError(`--dm registration: no collector (a daemon hosting ${REGISTRATION_QUERY_AGENT}) answered in collective ${request.collective} within ${request.timeoutMs / 1000} s`);
      }
      throw new RpcError(`--dm registration: no collector answered:\n  - ${problems.slice(0, 10).join('\n  - ')}`);
    }
    for (const problem of problems) this.options.logger?.warn({ problem }, `--dm registration: a collector's answer is left out: ${problem}`);
    this.found = found;
    return [...found.keys()];
  }

  /** A collector's page, checked (sorted, after the cursor, valid names), or why it cannot be used. */
  private read(reply: RpcReply, after: string | undefined): CollectorAnswer | string {
    if (reply.statuscode !== StatusCode.OK) return `status ${reply.statuscode}: ${reply.statusmsg}`;
    const { nodes, more } = reply.data as { nodes?: unknown; more?: unknown };
    if (!Array.isArray(nodes) || typeof more !== 'boolean') return 'malformed answer: expected {nodes: [...], more}';
    let previous = after;
    const checked: CollectorAnswer['nodes'] = [];
    for (const node of nodes as unknown[]) {
      const { identity, signer, senderProof } = (typeof node === 'object' && node !== null ? node : {}) as Record<string, unknown>;
      const problem = nameProblem('identity', 'identity', identity) ?? nameProblem('callerid', 'signer', signer)
        ?? (typeof senderProof === 'string' && /^[a-z][a-z-]{0,63}$/.test(senderProof) ? undefined : 'senderProof: expected a proof name');
      if (problem) return `malformed answer: ${problem}`;
      if (previous !== undefined && (identity as string) <= previous) return 'malformed answer: identities not sorted after the previous page';
      previous = identity as string;
      checked.push({ identity: identity as string, signer: signer as string, senderProof: senderProof as string });
    }
    if (more && checked.length === 0) return 'malformed answer: more nodes announced but none sent';
    return { reply, nodes: checked, more };
  }

  /** Adds a collector's nodes; a node several collectors report is proven when any proven collector proves it. */
  private add(found: Map<string, DiscoveredRegistration>, answer: CollectorAnswer): void {
    const { reply } = answer;
    const collector = { identity: reply.sender, signer: reply.signer, senderProof: reply.senderProof };
    for (const node of answer.nodes) {
      const registration: DiscoveredRegistration = {
        ...node, collector, authenticated: PROVEN_SENDER.has(node.senderProof as SenderProof) && PROVEN_SENDER.has(reply.senderProof),
      };
      const known = found.get(node.identity);
      if (!known || (!known.authenticated && registration.authenticated)) found.set(node.identity, registration);
    }
  }
}
