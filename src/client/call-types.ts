/**
 * The options and results of the RPC client's calls (RpcClient in client.ts): what a client is built from, what a
 * call, a discovery and a ping take and give back.
 */
import type { Connector } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { RequestFilter, SenderProof } from '../inter/message.js';
import type { SecurityProvider } from '../inter/security.js';
import type { NodeLimit } from './limit.js';
import type { RpcReply, RpcStats } from './stats.js';

/** What an RpcClient is built from. */
export interface RpcClientOptions {
  /** This client's identity (the requests' senderid, the connector's mc_sender). */
  identity: string;
  connector: Connector;
  /** A provider built with role `client`. */
  security: SecurityProvider;
  logger: Logger;
  counters: Counters;
  /** The collective used when a call names none. */
  mainCollective: string;
  /** Collectives this client may address; `mainCollective` when absent. */
  collectives?: readonly string[];
  /** Up to this many known targets, requests are sent to each node directly instead of broadcast; 10 by default. */
  directAddressingThreshold?: number;
  /** false: always broadcast (batches and node limits excepted, which need directed requests); true by default. */
  directAddressing?: boolean;
  /** Which nodes a node limit keeps: the first to answer discovery, or a random choice (the default). */
  limitMethod?: 'first' | 'random';
  /** Request TTL in seconds when a call gives none; 60 by default. */
  ttl?: number;
  /** Milliseconds to wait for replies when a call gives no timeout; 10 000 by default. */
  timeoutMs?: number;
  /** Milliseconds a broadcast discovery listens for pongs; 2 000 by default. */
  discoveryTimeoutMs?: number;
  /** Injected clock in milliseconds, used for durations only; performance.now by default. */
  now?: () => number;
}

/** Finds the nodes a call is for. */
export interface Discoverer {
  /** A short name for logs and stats (`mc`, `flatfile`, `registration`). */
  readonly name: string;
  /**
   * True when the source can evaluate identity filters only (a flat file, a list): `call` then does not add the
   * called agent to the discovery filter, which such a source would refuse.
   */
  readonly identityOnly?: boolean;
  discover(request: DiscoveryRequest): Promise<string[]>;
}

/** What `onDiscovery` is told: a discovery starts (with its method and listening time), or it found `nodes`. */
export type DiscoveryEvent =
  | { phase: 'start'; method: string; timeoutMs: number }
  | { phase: 'end'; method: string; nodes: number; ms: number };

/** What a Discoverer is asked. */
export interface DiscoveryRequest {
  filter: RequestFilter;
  collective: string;
  timeoutMs: number;
}

/** Options shared by every kind of call. */
export interface CallOptions {
  filter?: Partial<RequestFilter>;
  /** The collective to address; the client's main collective when absent. */
  collective?: string;
  /** Milliseconds to wait for replies. */
  timeoutMs?: number;
  /** Request TTL in seconds. */
  ttl?: number;
  /** Milliseconds a broadcast discovery listens. */
  discoveryTimeoutMs?: number;
}

/** Options of an RPC call. */
export interface RpcCallOptions extends CallOptions {
  /** How to find the nodes; broadcast discovery (`mc`) when absent. Ignored when `nodes` is given. */
  discoverer?: Discoverer;
  /** Known target nodes: no discovery runs. */
  nodes?: readonly string[];
  /** Send to this many nodes at a time (directed), waiting for each batch before the next. */
  batchSize?: number;
  /** Milliseconds to sleep between batches. */
  batchSleepMs?: number;
  /** Address only this many (or this share) of the discovered nodes, chosen at random. */
  limit?: NodeLimit;
  /** Which nodes `limit` keeps for this call; the client's `limitMethod` when absent. */
  limitMethod?: 'first' | 'random';
  /** Called when a discovery starts and when it ends (not when the targets are known). */
  onDiscovery?: (event: DiscoveryEvent) => void;
  /** Called for each reply as it arrives, with how many answered so far and how many are expected (0: unknown). */
  onReply?: (reply: RpcReply, progress: { received: number; expected: number }) => void;
}

/** One node's pong. */
export interface PingReply {
  /** The replying node's identity (its senderid). */
  sender: string;
  rttMs: number;
  /** `cert=<name>` of the key that signed the pong. */
  signer: string;
  /** How `sender` is bound to `signer`; see RpcReply.senderProof. */
  senderProof: SenderProof;
}

/** The result of a ping. */
export interface PingResult {
  replies: PingReply[];
  stats: RpcStats;
}
