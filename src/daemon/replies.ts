/**
 * The pipeline's last steps: replying (encoded by the provider to the caller, published to the request's reply-to
 * with the request's TTL) and delivering data messages to data agents (registration), which only accept a
 * senderid bound to the signing key and may acknowledge what they stored.
 */
import type { ReceiveContext } from '../agent/types.js';
import { PROVEN_SENDER, StatusCode, type DecodedRequest, type RpcReplyBody, type SenderProof } from '../inter/message.js';
import type { HostedAgent } from './agent-host.js';
import type { PipelineHost } from './pipeline.js';
import { COUNTER } from './stats.js';
import { lazyChild } from '../util/log.js';

/**
 * The proofs under which a data agent accepts a message as coming from its senderid: the proven ones, and `shared`
 * (a key several servers share, the seed's scenarios 3 and 4: authentic, but which server sent it is not proven;
 * the agent records the proof so tools can say so). `none` and `unsigned` are refused.
 */
export const BOUND_SENDER: ReadonlySet<SenderProof> = new Set<SenderProof>([...PROVEN_SENDER, 'shared']);

/**
 * Encodes and publishes a reply; nothing is sent without a reply-to, nor when the request asked for none
 * (`noReply`: MCollective's process_results = false, version 1 registrations). Failures are counted and logged (limited).
 */
export async function sendReply(host: PipelineHost, request: DecodedRequest, replyTo: string | undefined, body: RpcReplyBody): Promise<void> {
  if (request.noReply) {
    host.counters.increment('replies.not_wanted');
    host.limiter.log('debug', 'no_reply_wanted', { requestid: request.requestid, agent: request.agent }, 'the request asked for no reply; none sent');
    return;
  }
  if (!replyTo) {
    host.limiter.log('debug', 'no_reply_to', { requestid: request.requestid, agent: request.agent }, 'request has no reply-to; reply not sent');
    return;
  }
  try {
    const wire = host.provider.encodeReply({ senderid: host.identity, senderagent: request.agent, body }, request);
    await host.connector.publishReply(replyTo, wire, request.ttl);
    host.counters.increment(COUNTER.replies);
  } catch (error) {
    host.counters.increment(COUNTER.replyFailures);
    host.limiter.log('error', 'reply_failures', { err: error, requestid: request.requestid, agent: request.agent },
      `could not send the reply: ${(error as Error).message}`);
  }
}

const isHash = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Hands an authorized, audited data message to its agent's `receive`. A senderid not bound to the signer is
 * refused (`unbound_sender`, `<agent>.refused.unbound`, status 1 when there is a reply-to); a failing receive is
 * counted (`agent.<name>.errors`) and answered status 5; a returned hash is the acknowledgement (status 0).
 */
export async function deliverData(host: PipelineHost, hosted: HostedAgent, request: DecodedRequest, replyTo: string | undefined): Promise<void> {
  const name = hosted.agent.name;
  const where = { requestid: request.requestid, callerid: request.callerid, senderid: request.senderid, agent: name, senderProof: request.senderProof };
  if (!BOUND_SENDER.has(request.senderProof)) {
    host.counters.increment(COUNTER.unboundSender);
    host.counters.increment(`${name}.refused.unbound`);
    host.limiter.log('warn', `${name}.refused.unbound`, where,
      `refused a ${name} message signed by ${request.callerid} claiming sender ${request.senderid}: that key is not bound to it (proof ${request.senderProof})`);
    await sendReply(host, request, replyTo, {
      statuscode: StatusCode.Aborted,
      statusmsg: `sender ${request.senderid} is not bound to the signing key ${request.callerid}; refused`,
      data: {},
    });
    return;
  }
  const context: ReceiveContext = {
    agent: name,
    requestid: request.requestid,
    callerid: request.callerid,
    senderid: request.senderid,
    senderProof: request.senderProof,
    collective: request.collective,
    msgtime: request.msgtime,
    config: hosted.config,
    logger: lazyChild(host.logger, { agent: name, requestid: request.requestid }),
    node: host.node,
  };
  let result: unknown;
  try {
    result = await hosted.agent.receive!(request.body, context);
  } catch (error) {
    host.counters.increment(`agent.${name}.errors`);
    host.limiter.log('error', `agent.${name}.errors`, { ...where, err: error }, `agent ${name} could not handle a message: ${(error as Error).message}`);
    await sendReply(host, request, replyTo, { statuscode: StatusCode.Error, statusmsg: (error as Error).message, data: {} });
    return;
  }
  if (isHash(result)) await sendReply(host, request, replyTo, { statuscode: StatusCode.OK, statusmsg: 'OK', data: result });
}
