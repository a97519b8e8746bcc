/**
 * Between tscollective's message shapes and MCollective's, for the version 1 codec adapter (adapter.ts):
 * - request bodies: `{action, data}` <-> `{:agent, :action, :caller, :data=>{:process_results, <inputs>}}`; the
 *   discovery ping `{action: 'ping'}` <-> the bare "ping"; anything else (registration) is a data message, its
 *   Hash keys Symbols at the top as MCollective's registration plugins write them;
 * - reply bodies: `{statuscode, statusmsg, data}` <-> `{:statuscode, :statusmsg, :data}`; discovery's "pong";
 * - filters: compound expressions as strings (`country=uk and not /web/`) <-> Ruby's parsed form (one Array of
 *   token Hashes per expression), and the "collective" entry MCollective's discovery adds.
 */
import { FilterSyntaxError, InvalidArgumentError, MalformedMessageError } from '../../../../src/errors.js';
import { parseCompound, type CompoundNode } from '../../../../src/filter/compound.js';
import { readFactFilter } from '../../../../src/filter/fact.js';
import type { RequestFilter, RpcReplyBody } from '../../../../src/inter/message.js';
import { describe, type V1Filter } from './fields.js';
import { DISCOVERY_PING, DISCOVERY_PONG, parseRpcReply, parseRpcRequest, rpcReplyBody, rpcRequestBody } from './rpc-body.js';
import { RubyHash, fromPlain, sym, toPlain, type RubyValue } from './ruby-values.js';

/**
 * What a version 1 request body is: an RPC request, a discovery ping, or a data message (registration), which
 * MCollective sends without waiting for, and receives without answering.
 */
export type V1BodyKind = 'rpc' | 'discovery' | 'data';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function isRpcBody(body: unknown): body is { action: string; data?: unknown } {
  return isObject(body) && typeof body.action === 'string' && Object.keys(body).every((key) => key === 'action' || key === 'data');
}

/** tscollective's request body for `agent` as a Ruby client writes it, and its kind. */
export function outgoingRequestBody(agent: string, body: unknown, callerid: string): { body: RubyValue; kind: V1BodyKind } {
  try {
    if (isRpcBody(body)) {
      if (agent === 'discovery' && body.action === 'ping') return { body: DISCOVERY_PING, kind: 'discovery' };
      const data = body.data ?? {};
      if (!isObject(data)) throw new InvalidArgumentError('an RPC body\'s data must be an object');
      return { body: rpcRequestBody({ agent, action: body.action, caller: callerid, data, processResults: true }), kind: 'rpc' };
    }
    return { body: dataBody(body), kind: 'data' };
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`"request.body" cannot be written in protocol version 1: ${error.message}`);
    throw error;
  }
}

/** A data message's body: an object gets Symbol keys at the top level only (its nested Hashes, such as facts, keep String keys). */
function dataBody(body: unknown): RubyValue {
  if (!isObject(body) || Object.getPrototypeOf(body) !== Object.prototype) return fromPlain(body, 'string');
  const hash = new RubyHash();
  for (const [key, value] of Object.entries(body)) if (value !== undefined) hash.set(sym(key), fromPlain(value, 'string', `(root).${key}`));
  return hash;
}

/** A received version 1 request body as tscollective's, its kind, and whether the sender asked for no reply. */
export function incomingRequestBody(agent: string, body: RubyValue): { body: unknown; kind: V1BodyKind; noReply: boolean } {
  if (agent === 'discovery' && body === DISCOVERY_PING) return { body: { action: 'ping', data: {} }, kind: 'discovery', noReply: false };
  if (body instanceof RubyHash && body.has(sym('action')) && body.has(sym('data'))) {
    const rpc = parseRpcRequest(body);
    // The clear :agent is unauthenticated; the encrypted body's must agree, so a path cannot redirect a request.
    if (rpc.agent !== agent) throw new MalformedMessageError(`version 1 RPC request: its body is for agent ${rpc.agent}, the message for ${agent}`);
    return { body: { action: rpc.action, data: rpc.data }, kind: 'rpc', noReply: !rpc.processResults };
  }
  return { body: plain(body, 'version 1 data message'), kind: 'data', noReply: true };
}

function plain(value: RubyValue, where: string): unknown {
  try {
    return toPlain(value);
  } catch (error) {
    throw new MalformedMessageError(`${where}: ${(error as Error).message}`);
  }
}

/** tscollective's reply body as a Ruby server writes it: discovery answers "pong", RPC the Symbol-keyed Hash. */
export function outgoingReplyBody(kind: V1BodyKind, body: unknown): RubyValue {
  if (kind === 'discovery') return DISCOVERY_PONG;
  const reply = body as Partial<RpcReplyBody>;
  if (!isObject(reply) || typeof reply.statuscode !== 'number' || typeof reply.statusmsg !== 'string' || !isObject(reply.data)) {
    throw new InvalidArgumentError('"reply.body" must be {statuscode, statusmsg, data} to be written in protocol version 1');
  }
  return rpcReplyBody({ statuscode: reply.statuscode, statusmsg: reply.statusmsg, data: reply.data });
}

/** A received version 1 reply body as tscollective's RPC reply. Any answer to a discovery ping is a pong, as for Ruby's mco. */
export function incomingReplyBody(kind: V1BodyKind, body: RubyValue): RpcReplyBody {
  if (kind === 'discovery') return { statuscode: 0, statusmsg: 'OK', data: { message: typeof body === 'string' ? body : 'pong' } };
  const reply = parseRpcReply(body);
  return { statuscode: reply.statuscode as RpcReplyBody['statuscode'], statusmsg: reply.statusmsg, data: reply.data };
}

// ---- filters ------------------------------------------------------------------------------------------------

const PRECEDENCE: Record<CompoundNode['kind'], number> = { or: 1, and: 2, not: 3, fact: 4, class: 4 };
const token = (name: string, value: string = name): Record<string, string> => ({ [name]: value });

/** One compound expression as Ruby's Matcher::Parser leaves it: statements and operators, parenthesized as needed. */
function rubyTokens(node: CompoundNode, least: number, out: Array<Record<string, string>>): void {
  const wrap = PRECEDENCE[node.kind] < least;
  if (wrap) out.push(token('('));
  switch (node.kind) {
    case 'or':
    case 'and': {
      const own = PRECEDENCE[node.kind];
      rubyTokens(node.left, own, out);
      out.push(token(node.kind));
      rubyTokens(node.right, own + 1, out);
      break;
    }
    case 'not':
      out.push(token('not'));
      rubyTokens(node.operand, PRECEDENCE.not, out);
      break;
    case 'fact':
      out.push(token('statement', `${node.fact}${node.operator}${node.value}`));
      break;
    case 'class':
      out.push(token('statement', node.name));
  }
  if (wrap) out.push(token(')'));
}

/** A filter as a Ruby client writes it; `collective` is the entry MCollective's discovery adds. */
export function toV1Filter(filter: RequestFilter, collective?: string): V1Filter {
  const compound = filter.compound.map((expression) => {
    const tokens: Array<Record<string, string>> = [];
    try {
      rubyTokens(parseCompound(expression), 0, tokens);
    } catch (error) {
      if (error instanceof FilterSyntaxError) throw new InvalidArgumentError(`"request.filter": ${error.message}`);
      throw error;
    }
    return tokens;
  });
  return {
    fact: filter.fact.map((f) => ({ fact: f.fact, value: f.value, operator: f.operator })),
    cf_class: [...filter.cf_class], agent: [...filter.agent], identity: [...filter.identity], compound,
    ...(collective === undefined ? {} : { collective }),
  };
}

const WORDS: Record<string, string> = { and: 'and', or: 'or', not: 'not', '(': '(', ')': ')' };

/** One statement as tscollective's compound syntax writes it: a value with spaces is quoted. */
function statementText(text: unknown): string {
  if (typeof text !== 'string' || text.length === 0) throw new MalformedMessageError(`version 1 compound filter: a statement must be a String, got ${describe(text as RubyValue)}`);
  if (!/\s/.test(text)) return text;
  let fact;
  try {
    fact = readFactFilter(text);
  } catch {
    fact = undefined;
  }
  if (!fact || /["'\s]/.test(fact.fact) || fact.value.includes('"')) {
    throw new MalformedMessageError(`version 1 compound filter: cannot read the statement ${JSON.stringify(text.slice(0, 80))}`);
  }
  return `${fact.fact}${fact.operator}"${fact.value}"`;
}

/** Ruby's parsed compound expression (Arrays of one-entry token Hashes) as a tscollective expression string. */
function compoundText(expression: unknown): string {
  if (!Array.isArray(expression)) throw new MalformedMessageError('version 1 compound filter: each expression must be an Array of tokens');
  return expression.map((entry: unknown) => {
    const pairs = isObject(entry) ? Object.entries(entry) : [];
    if (pairs.length !== 1) throw new MalformedMessageError('version 1 compound filter: each token must be a Hash of one entry');
    const [name, value] = pairs[0]!;
    if (name === 'statement') return statementText(value);
    if (name === 'fstatement') throw new MalformedMessageError('version 1 compound filter: data plugin functions (fstatement) are not supported');
    if (WORDS[name] === undefined || value !== name) throw new MalformedMessageError(`version 1 compound filter: unknown token ${JSON.stringify(name).slice(0, 40)}`);
    return WORDS[name];
  }).join(' ');
}

/** A received filter as tscollective's (the "collective" entry is dropped: the request's collective is checked). */
export function fromV1Filter(filter: V1Filter): RequestFilter {
  return {
    fact: filter.fact.map((f) => ({ fact: f.fact, operator: f.operator, value: f.value })),
    cf_class: [...filter.cf_class], agent: [...filter.agent], identity: [...filter.identity],
    compound: filter.compound.map(compoundText),
  };
}
