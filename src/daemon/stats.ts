/**
 * daemon_stats: the request counters of a running daemon (MCollective's names) plus security
 * failures by error code and identifying details.
 */
import type { Counters } from '../inter/logger.js';

/** Counter names the request pipeline increments. */
export const COUNTER = {
  /** Every message received. */
  total: 'total',
  /** Decoded and authenticated by the security provider. */
  validated: 'validated',
  /** Refused by the security provider (any reason; by code under `security.<CODE>`). */
  unvalidated: 'unvalidated',
  /** Older than their TTL (also counted as security.TSC_SEC_EXPIRED). */
  ttlexpired: 'ttlexpired',
  /** Seen before (also counted as security.TSC_SEC_REPLAYED). */
  replayed: 'replayed',
  /** Did not match this node's filter: dropped without a reply. */
  filtered: 'filtered',
  /** Matched the filter: handed to authorization and the agent. */
  passed: 'passed',
  /** Refused by the authorization provider (status 1 reply). */
  unauthorized: 'unauthorized',
  /** Replies published. */
  replies: 'replies',
  /** Replies that could not be encoded or published (logged). */
  replyFailures: 'reply_failures',
  /** Requests for agents this node does not host, or collectives it is not in. */
  misrouted: 'misrouted',
  /** Requests whose filter does not parse (dropped, logged). */
  badFilter: 'bad_filter',
  /** Requests that arrived while the daemon was stopping (dropped). */
  refusedStopping: 'refused_stopping',
  /** Large requests refused by pre-authorization before decryption (also counted as security.TSC_SEC_UNAUTHORIZED). */
  preauthorizationRefused: 'preauthorization_refused',
  /** Data messages (registration) whose senderid is not bound to the signer (`none`); by agent as `<agent>.refused.unbound`. */
  unboundSender: 'unbound_sender',
} as const;

/** The counters reported by daemon_stats. */
export interface DaemonStats {
  total: number;
  validated: number;
  unvalidated: number;
  passed: number;
  filtered: number;
  ttlexpired: number;
  replayed: number;
  unauthorized: number;
  replies: number;
  reply_failures: number;
  misrouted: number;
  bad_filter: number;
  preauthorization_refused: number;
  unbound_sender: number;
  /** Security failures by error code, e.g. `{TSC_SEC_BAD_SIGNATURE: 2}`. */
  security: Record<string, number>;
  /** Replies by RPC status code, e.g. `{"0": 10, "4": 1}`. */
  statuses: Record<string, number>;
  /** Seconds since the epoch when the daemon started. */
  starttime: number;
  agents: string[];
  pid: number;
  version: string;
  configfile: string;
  identity: string;
}

/** Builds the daemon_stats record from the counters. */
export function buildStats(
  counters: Counters,
  details: { starttime: number; agents: string[]; version: string; configfile: string; identity: string },
): DaemonStats {
  const security: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters.snapshot())) {
    if (name.startsWith('security.')) security[name.slice('security.'.length)] = value;
    if (name.startsWith('status.')) statuses[name.slice('status.'.length)] = value;
  }
  return {
    total: counters.get(COUNTER.total),
    validated: counters.get(COUNTER.validated),
    unvalidated: counters.get(COUNTER.unvalidated),
    passed: counters.get(COUNTER.passed),
    filtered: counters.get(COUNTER.filtered),
    ttlexpired: counters.get(COUNTER.ttlexpired),
    replayed: counters.get(COUNTER.replayed),
    unauthorized: counters.get(COUNTER.unauthorized),
    replies: counters.get(COUNTER.replies),
    reply_failures: counters.get(COUNTER.replyFailures),
    misrouted: counters.get(COUNTER.misrouted),
    bad_filter: counters.get(COUNTER.badFilter),
    preauthorization_refused: counters.get(COUNTER.preauthorizationRefused),
    unbound_sender: counters.get(COUNTER.unboundSender),
    security,
    statuses,
    starttime: details.starttime,
    agents: details.agents,
    pid: process.pid,
    version: details.version,
    configfile: details.configfile,
    identity: details.identity,
  };
}
