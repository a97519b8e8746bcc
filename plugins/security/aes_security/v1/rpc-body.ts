/**
 * The bodies MCollective's RPC layer puts inside version 1 messages (rpc/client.rb, rpc/reply.rb, discovery/mc.rb):
 * - RPC request `{:agent=>, :action=>, :caller=>, :data=>{:process_results=>true, <inputs>}}`;
 * - RPC reply `{:statuscode=>, :statusmsg=>, :data=>{<outputs>}}`;
 * - discovery: the bare String "ping" and the answer "pong".
 * Data keys are Symbols on the wire (DDL inputs and outputs are Symbols in Ruby); here they are plain object keys.
 */
import { MalformedMessageError } from '../../../../src/errors.js';
import { isName } from '../../../../src/names.js';
import { RubyHash, fromPlain, sym, symHash, toPlain, type RubyValue } from './ruby-values.js';
import { describe } from './fields.js';

/** The discovery request body (discovery/mc.rb). */
export const DISCOVERY_PING = 'ping';
/** The discovery reply body (agent/discovery.rb). */
export const DISCOVERY_PONG = 'pong';

/** An RPC request body in plain form. */
export interface V1RpcRequest {
  agent: string;
  action: string;
  /** `cert=<name>` of the caller, as the client put it in the body. */
  caller: string;
  /** Inputs, without `process_results`. */
  data: Record<string, unknown>;
  /** False when the client asked for no replies (`mco rpc --no-results`). */
  processResults: boolean;
}

/** An RPC reply body in plain form. */
export interface V1RpcReply {
  statuscode: number;
  statusmsg: string;
  data: Record<string, unknown>;
}

/** Builds the Ruby request body; input keys become Symbols, as Ruby's DDL expects. */
export function rpcRequestBody(request: V1RpcRequest): RubyHash {
  const data = fromPlain({ process_results: request.processResults, ...request.data }) as RubyHash;
  return symHash({ agent: request.agent, action: request.action, caller: request.caller, data });
}

/** Builds the Ruby reply body; output keys become Symbols. */
export function rpcReplyBody(reply: V1RpcReply): RubyHash {
  return symHash({ statuscode: reply.statuscode, statusmsg: reply.statusmsg, data: fromPlain(reply.data) });
}

function hashField(body: RubyHash, key: string): RubyValue | undefined {
  // rpc/client.rb tolerates String keys in replies; take either, Symbol first.
  return body.has(sym(key)) ? body.getSym(key) : body.get(key);
}

function plainData(value: RubyValue | undefined, where: string): Record<string, unknown> {
  if (!(value instanceof RubyHash)) throw new MalformedMessageError(`${where} :data must be a Hash, got ${describe(value)}`);
  try {
    return toPlain(value) as Record<string, unknown>;
  } catch (error) {
    throw new MalformedMessageError(`${where} :data: ${(error as Error).message}`);
  }
}

/** Reads an RPC request body; MalformedMessageError names what is missing or mistyped. */
export function parseRpcRequest(body: RubyValue): V1RpcRequest {
  const where = 'version 1 RPC request';
  if (!(body instanceof RubyHash)) throw new MalformedMessageError(`${where}: body must be a Hash, got ${describe(body)}`);
  const agent = body.getSym('agent');
  const action = body.getSym('action');
  const caller = body.getSym('caller');
  if (!isName('agent', agent)) throw new MalformedMessageError(`${where}: :agent is not a valid agent name: ${describe(agent)}`);
  if (!isName('action', action)) throw new MalformedMessageError(`${where}: :action is not a valid action name: ${describe(action)}`);
  if (!isName('callerid', caller)) throw new MalformedMessageError(`${where}: :caller is not cert=<name>: ${describe(caller)}`);
  const data = plainData(body.getSym('data'), where);
  const processResults = data.process_results;
  if (processResults !== undefined && typeof processResults !== 'boolean') {
    throw new MalformedMessageError(`${where}: :process_results must be true or false, got ${describe(processResults as RubyValue)}`);
  }
  delete data.process_results;
  return { agent, action, caller, data, processResults: processResults !== false };
}

/** Reads an RPC reply body (Symbol or String keys, as rpc/client.rb accepts). */
export function parseRpcReply(body: RubyValue): V1RpcReply {
  const where = 'version 1 RPC reply';
  if (!(body instanceof RubyHash)) throw new MalformedMessageError(`${where}: body must be a Hash, got ${describe(body)}`);
  const statuscode = hashField(body, 'statuscode');
  const statusmsg = hashField(body, 'statusmsg');
  if (typeof statuscode !== 'number' || !Number.isInteger(statuscode) || statuscode < 0 || statuscode > 5) {
    throw new MalformedMessageError(`${where}: :statuscode must be an Integer 0..5, got ${describe(statuscode)}`);
  }
  if (typeof statusmsg !== 'string') throw new MalformedMessageError(`${where}: :statusmsg must be a String, got ${describe(statusmsg)}`);
  return { statuscode, statusmsg, data: plainData(hashField(body, 'data'), where) };
}
