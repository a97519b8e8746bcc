/**
 * The pipeline's first step: the security provider authenticates and decodes a request, with pre-authorization
 * wired into its precheck hook (after the signature verified, before the payload is decrypted and deserialized).
 * Every refusal is counted exactly (`unvalidated`, `security.<CODE>`, `ttlexpired`, `replayed`) and logged through
 * the daemon's LogLimiter (at most a burst per code and interval, then a summary line), so a flood of junk costs a
 * bounded amount of log.
 */
import { ExpiredError, PreauthorizationError, ReplayedError, SecurityError } from '../errors.js';
import type { InboundMessage } from '../inter/connector.js';
import type { DecodedRequest } from '../inter/message.js';
import type { RequestEnvelopeFacts } from '../inter/security.js';
import type { PipelineHost } from './pipeline.js';
import { COUNTER } from './stats.js';

/**
 * Payloads above this many bytes are pre-authorized: a caller that no line of the agent's policy could allow is
 * refused before the payload is decrypted and deserialized. Smaller requests are decoded and, when authorization
 * denies them, answered status 1 as before (so a denied caller still learns why).
 */
export const PREAUTHORIZATION_PAYLOAD_BYTES = 64 * 1024;

/**
 * The precheck the pipeline hands to decodeRequest: throws PreauthorizationError for a large payload from a
 * caller `host.authorizer` could never allow for the agent. No authorizer (rpcauthorization = 0): nothing to check.
 */
export function preauthorize(host: Pick<PipelineHost, 'authorizer' | 'preauthorizePayloadBytes'>, facts: RequestEnvelopeFacts): void {
  if (!host.authorizer || facts.payloadBytes <= host.preauthorizePayloadBytes) return;
  if (host.authorizer.mayCall(facts.callerid, facts.agent)) return;
  throw new PreauthorizationError(
    `request ${facts.requestid}: ${facts.callerid} may not call agent ${facts.agent} at all; its ${facts.payloadBytes}-byte payload was refused before decryption`,
  );
}

/** Authenticates and decodes `message`; undefined when the provider refused it (counted and logged, limited). */
export function decodeMessage(host: PipelineHost, message: InboundMessage): DecodedRequest | undefined {
  try {
    const request = host.provider.decodeRequest(message.body, { precheck: (facts) => preauthorize(host, facts) });
    host.counters.increment(COUNTER.validated);
    for (const warning of request.warnings) {
      host.limiter.log('warn', 'decode.warning', { requestid: request.requestid, sender: message.sender }, warning);
    }
    return request;
  } catch (error) {
    host.counters.increment(COUNTER.unvalidated);
    const security = error instanceof SecurityError;
    const code = security ? error.code : 'TSC_SEC_INTERNAL';
    host.counters.increment(`security.${code}`);
    if (error instanceof ExpiredError) host.counters.increment(COUNTER.ttlexpired);
    if (error instanceof ReplayedError) host.counters.increment(COUNTER.replayed);
    if (error instanceof PreauthorizationError) host.counters.increment(COUNTER.preauthorizationRefused);
    host.limiter.log(security ? 'warn' : 'error', `security.${code}`, { code, sender: message.sender, err: error },
      `request refused by the security provider: ${(error as Error).message}`);
    return undefined;
  }
}
