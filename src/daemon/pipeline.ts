/**
 * The request pipeline of the daemon, one inbound message at a time:
 * security decode (with pre-authorization) -> routing check -> filter -> authorization -> audit -> action or
 * data agent -> reply. Nothing here throws: every refusal is counted exactly, logged through the daemon's
 * LogLimiter (a burst per kind and interval, then a summary), and either dropped (no reply: security failures,
 * filter misses, misrouted requests) or answered with an RPC status.
 */
import { runAction, readRpcBody } from '../agent/run.js';
import type { NodeView } from '../agent/types.js';
import type { ActionPolicyAuthorizer } from '../authz/actionpolicy.js';
import type { AuditLog } from '../audit/logfile.js';
import { compileFilter, type NodeFacts } from '../filter/match.js';
import type { InboundMessage, Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import { StatusCode, type DecodedRequest } from '../inter/message.js';
import type { SecurityProvider } from '../inter/security.js';
import type { LogLimiter } from '../util/log-limiter.js';
import type { HostedAgent } from './agent-host.js';
import { decodeMessage } from './decode.js';
import { deliverData, sendReply } from './replies.js';
import { COUNTER } from './stats.js';

/** What the pipeline needs from the daemon. */
export interface PipelineHost {
  readonly identity: string;
  readonly collectives: readonly string[];
  readonly logger: Logger;
  readonly counters: Counters;
  /** Rate-limits every per-message refusal or drop line (counters stay exact). */
  readonly limiter: LogLimiter;
  readonly provider: SecurityProvider;
  readonly connector: Connector;
  readonly node: NodeView;
  readonly authorizer: ActionPolicyAuthorizer | undefined;
  readonly audit: AuditLog | undefined;
  /** Payloads larger than this are pre-authorized before decryption (PREAUTHORIZATION_PAYLOAD_BYTES). */
  readonly preauthorizePayloadBytes: number;
  /** Aborted when the daemon stops waiting for in-flight actions. */
  readonly shutdown: AbortSignal;
  hostedAgent(name: string): HostedAgent | undefined;
  nodeFacts(): NodeFacts;
  isStopping(): boolean;
}

/** Whether the request is for an agent and collective this node serves, and its filter selects this node. */
function selects(host: PipelineHost, request: DecodedRequest): HostedAgent | undefined {
  const where = { requestid: request.requestid, callerid: request.callerid, agent: request.agent, collective: request.collective };
  const hosted = host.hostedAgent(request.agent);
  if (!hosted || !host.collectives.includes(request.collective)) {
    host.counters.increment(COUNTER.misrouted);
    host.limiter.log('warn', 'misrouted', where, `request for agent ${request.agent} in collective ${request.collective}, which this node does not serve; dropped`);
    return undefined;
  }
  let matches: boolean;
  try {
    matches = compileFilter(request.filter)(host.nodeFacts());
  } catch (error) {
    host.counters.increment(COUNTER.badFilter);
    host.limiter.log('warn', 'bad_filter', { ...where, err: error }, `request filter is invalid; dropped: ${(error as Error).message}`);
    return undefined;
  }
  if (!matches) {
    host.counters.increment(COUNTER.filtered);
    host.limiter.log('debug', 'filtered', where, 'request filter does not match this node; dropped');
    return undefined;
  }
  host.counters.increment(COUNTER.passed);
  return hosted;
}

/**
 * The one request action policy does not govern, as in MCollective: the `discovery` agent's `ping`. Its pong
 * reveals only that this node matches the request's filter, which the broker (it routes the node's traffic and sees
 * the reply) already knows; a caller must still pass the security provider (a trusted, valid signature) and the
 * filter. Authorizing it would make every discovery by a caller with no `discovery` policy log a denial per node.
 */
export function exemptFromAuthorization(agent: string, action: string): boolean {
  return agent === 'discovery' && action === 'ping';
}

/**
 * Authorization, then audit: a denied request is counted (`unauthorized`), logged (limited) and answered status 1;
 * an allowed one is written to the audit log before anything runs. Resolves whether the request may proceed.
 * A discovery ping skips authorization (exemptFromAuthorization) but is audited like any request.
 */
async function admit(host: PipelineHost, request: DecodedRequest, replyTo: string | undefined, action: string, data: unknown): Promise<boolean> {
  if (host.authorizer && !exemptFromAuthorization(request.agent, action)) {
    const facts = host.nodeFacts();
    const decision = host.authorizer.authorize({ callerid: request.callerid, agent: request.agent, action, facts: facts.facts, classes: facts.classes });
    if (!decision.allowed) {
      host.counters.increment(COUNTER.unauthorized);
      host.limiter.log('warn', 'unauthorized', { requestid: request.requestid, callerid: request.callerid, agent: request.agent, action, reason: decision.reason },
        `denied ${request.callerid} calling ${request.agent}#${action}: ${decision.reason}`);
      await sendReply(host, request, replyTo, {
        statuscode: StatusCode.Aborted,
        statusmsg: `${request.callerid} is not authorized to call ${request.agent}#${action}`,
        data: {},
      });
      return false;
    }
  }
  host.audit?.record({ requestid: request.requestid, caller: `${request.callerid}@${request.senderid}`, agent: request.agent, action, data });
  return true;
}

/** Handles one inbound request message end to end. Resolves when the reply (if any) is published. */
export async function handleRequest(host: PipelineHost, message: InboundMessage): Promise<void> {
  host.counters.increment(COUNTER.total);
  if (host.isStopping()) {
    host.counters.increment(COUNTER.refusedStopping);
    host.limiter.log('info', 'stopping', { sender: message.sender }, 'request received while stopping; dropped');
    return;
  }
  const request = decodeMessage(host, message);
  if (!request) return;
  const hosted = selects(host, request);
  if (!hosted) return;

  if (hosted.agent.receive) {
    const action = hosted.agent.receiveAction ?? 'receive';
    if (await admit(host, request, message.replyTo, action, request.body)) await deliverData(host, hosted, request, message.replyTo);
    return;
  }

  const rpc = readRpcBody(request.body);
  const action = typeof rpc === 'string' ? '(none)' : rpc.action;
  if (!(await admit(host, request, message.replyTo, action, typeof rpc === 'string' ? null : rpc.data ?? {}))) return;
  const reply = await runAction(
    hosted.agent,
    { requestid: request.requestid, callerid: request.callerid, senderid: request.senderid, collective: request.collective, body: request.body },
    { node: host.node, logger: host.logger, config: hosted.config, shutdown: host.shutdown },
  );
  // Per-status counts make bad input (3, 4) and failing actions (5) visible in daemon_stats.
  host.counters.increment(`status.${reply.statuscode}`);
  // Debug, not info: a line per request is a cost every request pays at fleet scale; status.N counts them all.
  host.logger.debug({ requestid: request.requestid, callerid: request.callerid, agent: request.agent, action, statuscode: reply.statuscode, protocol: request.protocol },
    `${request.agent}#${action} from ${request.callerid}: ${reply.statusmsg}`);
  await sendReply(host, request, message.replyTo, reply);
}
