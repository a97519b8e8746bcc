/**
 * How long a call waits for replies when the caller gives no timeout: the called agent's declared timeout (its
 * description's `metadata.timeout`, the longest an action may run before the daemon aborts it) plus a margin for
 * the request's way to the nodes and the replies' way back, as MCollective waits for the agent's DDL timeout.
 * The wait starts once discovery has finished, so a whole call takes at most the discovery time plus this.
 */
import type { AgentDdl } from '../../agent/ddl.js';
import { DEFAULT_TIMEOUT_MS } from '../settings.js';

/** Milliseconds added to the agent's declared timeout: transit of the request and of the replies, queueing. */
export const REPLY_MARGIN_MS = 2_000;

/** Milliseconds to wait for replies from `agent`'s actions: its declared timeout plus REPLY_MARGIN_MS; DEFAULT_TIMEOUT_MS without a description. */
export function replyTimeoutMs(agent: Pick<AgentDdl, 'metadata'> | undefined): number {
  const declared = agent?.metadata.timeout;
  return typeof declared === 'number' && declared > 0 && Number.isFinite(declared) ? declared * 1000 + REPLY_MARGIN_MS : DEFAULT_TIMEOUT_MS;
}
