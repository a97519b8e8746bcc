/** What one client call reports: per-node results, counts and timings, and MCollective's exit codes. */
import { PROVEN_SENDER, type SenderProof, type StatusCode } from '../inter/message.js';

/** One node's answer to an RPC call (the `--json` item shape, plus transport details). */
export interface RpcReply {
  agent: string;
  action: string;
  /** The replying node's identity (its senderid). */
  sender: string;
  statuscode: StatusCode;
  statusmsg: string;
  data: Record<string, unknown>;
  /** `cert=<name>` of the key that signed the reply. */
  signer: string;
  /**
   * How `sender` is bound to `signer` (docs/protocol.md): `key-name`, `certificate` or `mapping` prove it;
   * with `shared` (a key several servers hold) or `unsigned`, `sender` is only what the reply claims.
   */
  senderProof: SenderProof;
  /** Milliseconds from publishing the request to receiving this reply. */
  rttMs: number;
}

/** Whether a reply's sender name was proven by the key that signed it (not `shared`, `unsigned` or `none`). */
export function senderAuthenticated(reply: { senderProof: SenderProof }): boolean {
  return PROVEN_SENDER.has(reply.senderProof);
}

/** Counts and timings of one call. */
export interface RpcStats {
  /** Whether a discovery step ran (a broadcast ping, a flat file, the registration store, or known targets). */
  discoveryPerformed: boolean;
  discovered: number;
  /** Nodes that answered (each counted once). */
  responded: number;
  ok: number;
  failed: number;
  discoveryMs: number;
  agentMs: number;
  totalMs: number;
  /** Discovered nodes that did not answer, sorted. */
  noResponses: string[];
  /** Replies ignored: duplicates, for other requests, or rejected by the security provider. */
  ignoredReplies: number;
  /** The request ids used (one per batch). */
  requestids: string[];
  /**
   * Whether a wait for replies ran out its timeout: false when every targeted node answered (or nothing was
   * targeted), true when some did not answer in time. A ping always waits its whole timeout (true).
   */
  timedOut: boolean;
}

/** Per-node results and statistics of one call. */
export interface RpcResult {
  items: RpcReply[];
  stats: RpcStats;
}

/** MCollective's exit codes for a finished call. */
export const ExitCode = {
  OK: 0,
  NothingDiscovered: 1,
  SomeFailed: 2,
  NoResponses: 3,
  NoDiscoveryNoResponses: 4,
} as const;

/** One of the exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The process exit code for a call, as MCollective's `halt_code`: 4 when no discovery ran and nobody answered,
 * 1 when nothing was discovered and nobody answered, 3 when nodes were discovered but none answered,
 * 2 when at least one reply failed, 0 otherwise (missing replies from some nodes alone do not fail the call).
 */
export function exitCodeFor(stats: Pick<RpcStats, 'discoveryPerformed' | 'discovered' | 'responded' | 'failed'>): ExitCode {
  if (stats.responded === 0) {
    if (!stats.discoveryPerformed) return ExitCode.NoDiscoveryNoResponses;
    return stats.discovered === 0 ? ExitCode.NothingDiscovered : ExitCode.NoResponses;
  }
  return stats.failed > 0 ? ExitCode.SomeFailed : ExitCode.OK;
}
