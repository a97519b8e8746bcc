/**
 * The request pipeline of the daemon, one inbound message at a time:
 * security decode -> routing check -> filter -> authorization -> audit -> action -> reply.
 * Nothing here throws: every refusal is counted, logged, and either dropped (no reply: security
 * failures, filter misses, misrouted requests) or answered with an RPC status.
 */
import { runAction, readRpcBody } from '../agent/run.js';
import type { NodeView, ReceiveContext } from '../agent/types.js';
import type { HostedAgent } from './agent-host.js';
import type { ActionPolicyAuthorizer } from '../authz/actionpolicy.js';
import type { AuditLog } from '../audit/logfile.js';
import { ExpiredError, ReplayedError, SecurityError } from '../errors.js';
import { compileFilter, type NodeFacts } from '../filter/match.js';
import type { InboundMessage, Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import { StatusCode, type DecodedRequest, type RpcReplyBody } from '../inter/message.js';
import type { SecurityProvider } from '../inter/security.js';
import { COUNTER } from './stats.js';

/** What the pipeline needs from the daemon. */
export interface PipelineHost {
  readonly identity: string;
  readonly collectives: readonly string[];
  readonly logger: Logger;
  readonly counters: Counters;
  readonly provider: SecurityProvider;
  readonly connector: Connector;
  readonly node: NodeView;
  readonly authorizer: ActionPolicyAuthorizer | undefined;
  readonly audit: AuditLog | undefined;
  /** Aborted when the daemon stops waiting for in-flight actions. */
  readonly shutdown: AbortSignal;
  hostedAgent(name: string): HostedAgent | undefined;
  nodeFacts(): NodeFacts;
  isStopping(): boolean;
}

function decode(host: PipelineHost, message: InboundMessage): DecodedRequest | undefined {
  try {
    const request = host.provider.decodeRequest(message.body);
    host.counters.increment(COUNTER.validated);
    for (const warning of request.warnings) host.logger.warn({ requestid: request.requestid, sender: message.sender }, warning);
    return request;
  } catch (error) {
    host.counters.increment(COUNTER.unvalidated);
    const code = error instanceof SecurityError ? error.code : 'TSC_SEC_INTERNAL';
    host.counters.increment(`security.${code}`);
    if (error instanceof ExpiredError) host.counters.increment(COUNTER.ttlexpired);
    if (error instanceof ReplayedError) host.counters.increment(COUNTER.replayed);
    const log = error instanceof SecurityError ? host.logger.warn.bind(host.logger) : host.logger.error.bind(host.logger);
    log({ code, sender: message.sender, err: error }, `request refused by the security provider: ${(error as Error).message}`);
    return undefined;
  }
}

async function sendReply(host: PipelineHost, request: DecodedRequest, replyTo: string | undefined, body: RpcReplyBody): Promise<void> {
  if (!replyTo) {
    host.logger.debug({ requestid: request.requestid }, 'request has no reply-to; reply not sent');
    return;
  }
  try {
    const wire = host.provider.encodeReply({ senderid: host.identity, senderagent: request.agent, body }, request);
    await host.connector.publishReply(replyTo, wire, request.ttl);
    host.counters.increment(COUNTER.replies);
  } catch (error) {
    host.counters.increment(COUNTER.replyFailures);
    host.logger.error({ err: error, requestid: request.requestid, agent: request.agent }, `could not send the reply: ${(error as Error).message}`);
  }
}

async function receiveData(host: PipelineHost, hosted: HostedAgent, request: DecodedRequest): Promise<void> {
  const context: ReceiveContext = {
    agent: hosted.agent.name,
    requestid: request.requestid,
    callerid: request.callerid,
    senderid: request.senderid,
    collective: request.collective,
    msgtime: request.msgtime,
    config: hosted.config,
    logger: host.logger.child({ agent: hosted.agent.name, requestid: request.requestid }),
    node: host.node,
  };
  try {
    await hosted.agent.receive!(request.body, context);
  } catch (error) {
    host.counters.increment(`agent.${hosted.agent.name}.errors`);
    host.logger.error({ err: error, agent: hosted.agent.name, sender: request.senderid }, `agent ${hosted.agent.name} could not handle a message: ${(error as Error).message}`);
  }
}

/** Handles one inbound request message end to end. Resolves when the reply (if any) is published. */
export async function handleRequest(host: PipelineHost, message: InboundMessage): Promise<void> {
  host.counters.increment(COUNTER.total);
  if (host.isStopping()) {
    host.counters.increment(COUNTER.refusedStopping);
    host.logger.info({ sender: message.sender }, 'request received while stopping; dropped');
    return;
  }
  const request = decode(host, message);
  if (!request) return;
  const log = host.logger.child({ requestid: request.requestid, callerid: request.callerid, agent: request.agent });

  const hosted = host.hostedAgent(request.agent);
  if (!hosted || !host.collectives.includes(request.collective)) {
    host.counters.increment(COUNTER.misrouted);
    log.warn({ collective: request.collective }, `request for agent ${request.agent} in collective ${request.collective}, which this node does not serve; dropped`);
    return;
  }

  let matches: boolean;
  try {
    matches = compileFilter(request.filter)(host.nodeFacts());
  } catch (error) {
    host.counters.increment(COUNTER.badFilter);
    log.warn({ err: error }, `request filter is invalid; dropped: ${(error as Error).message}`);
    return;
  }
  if (!matches) {
    host.counters.increment(COUNTER.filtered);
    log.debug({}, 'request filter does not match this node; dropped');
    return;
  }
  host.counters.increment(COUNTER.passed);

  if (hosted.agent.receive) {
    await receiveData(host, hosted, request);
    return;
  }

  const rpc = readRpcBody(request.body);
  const action = typeof rpc === 'string' ? '(none)' : rpc.action;
  if (host.authorizer) {
    const facts = host.nodeFacts();
    const decision = host.authorizer.authorize({ callerid: request.callerid, agent: request.agent, action, facts: facts.facts, classes: facts.classes });
    if (!decision.allowed) {
      host.counters.increment(COUNTER.unauthorized);
      log.warn({ action, reason: decision.reason }, `denied ${request.callerid} calling ${request.agent}#${action}: ${decision.reason}`);
      await sendReply(host, request, message.replyTo, {
        statuscode: StatusCode.Aborted,
        statusmsg: `${request.callerid} is not authorized to call ${request.agent}#${action}`,
        data: {},
      });
      return;
    }
  }
  host.audit?.record({
    requestid: request.requestid,
    caller: `${request.callerid}@${request.senderid}`,
    agent: request.agent,
    action,
    data: typeof rpc === 'string' ? null : rpc.data ?? {},
  });

  const reply = await runAction(
    hosted.agent,
    { requestid: request.requestid, callerid: request.callerid, senderid: request.senderid, collective: request.collective, body: request.body },
    { node: host.node, logger: host.logger, config: hosted.config, shutdown: host.shutdown },
  );
  // Per-status counts make bad input (3, 4) and failing actions (5) visible in daemon_stats.
  host.counters.increment(`status.${reply.statuscode}`);
  log.info({ action, statuscode: reply.statuscode }, `${request.agent}#${action} from ${request.callerid}: ${reply.statusmsg}`);
  await sendReply(host, request, message.replyTo, reply);
}
