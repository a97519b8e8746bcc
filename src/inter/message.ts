/**
 * Message shapes shared by the security providers, connectors, daemon and client.
 * This module imports nothing: it is the contract between the layers.
 */

/** Comparison operators a fact filter may use (MCollective's set). */
export type FactOperator = '==' | '=~' | '!=' | '<' | '>' | '<=' | '>=';

/** One fact condition of a request filter. */
export interface FactFilter {
  fact: string;
  operator: FactOperator;
  value: string;
}

/**
 * The filter carried by every request, in MCollective's layout. Every list is ANDed:
 * a node must match every entry of every list. `compound` holds expression strings
 * such as `country=uk and not /web/`.
 */
export interface RequestFilter {
  fact: FactFilter[];
  cf_class: string[];
  agent: string[];
  identity: string[];
  compound: string[];
}

/** An RPC request body (the `body` of a request). */
export interface RpcRequestBody {
  action: string;
  data: Record<string, unknown>;
}

/** An RPC reply body (the `body` of a reply). */
export interface RpcReplyBody {
  statuscode: StatusCode;
  statusmsg: string;
  data: Record<string, unknown>;
}

/** RPC status codes, as in MCollective and Choria. */
export const StatusCode = {
  OK: 0,
  Aborted: 1,
  UnknownAction: 2,
  MissingData: 3,
  InvalidData: 4,
  Error: 5,
} as const;

/** One of the RPC status codes. */
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/** Reply encryption modes a request can ask for. */
export type ReplyMode = 'rsa' | 'ephemeral';

/**
 * How the identity a message claims (its `senderid`) is bound to the key that signed it:
 * - `key-name`: the signing key's name (the callerid name) equals senderid;
 * - `certificate`: the signing key is an X.509 certificate naming senderid (its CN or a subjectAltName);
 * - `mapping`: an explicit, documented mapping (`plugin.aes.identity_map`) lets the signer speak for senderid;
 * - `shared`: the signer is a key several servers share (`plugin.aes.shared_server_keys`): the message is
 *   authentic, but which server sent it is NOT proven (the seed's scenarios 3 and 4);
 * - `unsigned`: nothing is signed (protocol version 1 replies): neither content nor sender is authenticated;
 * - `none`: nothing binds senderid to the signer. Replies and server-initiated requests (registration) are
 *   only attributed to senderid with one of the proofs above; a client's request has `none` (its senderid
 *   names the client's machine and is informational, the caller is `callerid`).
 */
export type SenderProof = 'key-name' | 'certificate' | 'mapping' | 'shared' | 'unsigned' | 'none';

/** The proofs under which senderid is really who sent a message. */
export const PROVEN_SENDER: ReadonlySet<SenderProof> = new Set<SenderProof>(['key-name', 'certificate', 'mapping']);

/** A request as a sender builds it, before the security provider encodes it. */
export interface OutgoingRequest {
  /** 32 lower-case hex characters. */
  requestid: string;
  /** The sending node's identity (the client's identity for tsco). */
  senderid: string;
  agent: string;
  collective: string;
  filter: RequestFilter;
  /** Seconds the request stays valid after msgtime. */
  ttl: number;
  /** Seconds since the epoch (UTC); the provider fills it when absent. */
  msgtime?: number;
  body: unknown;
}

/** A request after a security provider has authenticated and decrypted it. */
export interface DecodedRequest {
  requestid: string;
  senderid: string;
  /** `cert=<name>`: the authenticated identity of the signer. */
  callerid: string;
  agent: string;
  collective: string;
  filter: RequestFilter;
  ttl: number;
  msgtime: number;
  body: unknown;
  /** How senderid is bound to the signing key (a client's request: `none`; registration needs a proof). */
  senderProof: SenderProof;
  /** Warnings raised while decoding (for example a TTL check downgraded by enforce_ttl = 0). */
  warnings: string[];
  /**
   * The sender asked for no reply, and none must be sent: MCollective's `process_results = false`, and protocol
   * version 1 data messages such as registration (whose Ruby senders read nothing back). The action still runs.
   */
  noReply?: boolean;
  /** The wire protocol version the request arrived in, when the provider has several (aes_security: 1 or 2). */
  protocol?: number;
  /** Provider-private state needed to encode the reply (caller key, reply key material). */
  readonly replyContext: unknown;
}

/** A reply as a server builds it. */
export interface OutgoingReply {
  senderid: string;
  senderagent: string;
  msgtime?: number;
  body: unknown;
}

/** A reply after the client's security provider has authenticated and decrypted it. */
export interface DecodedReply {
  requestid: string;
  senderid: string;
  senderagent: string;
  msgtime: number;
  body: unknown;
  /** `cert=<name>` of the key that signed the reply: which server answered, cryptographically ("" when unsigned). */
  signer: string;
  /** How senderid is bound to `signer`; `shared` and `unsigned` replies carry an unauthenticated sender name. */
  senderProof: SenderProof;
  /** The wire protocol version the reply arrived in, when the provider has several (aes_security: 1 or 2). */
  protocol?: number;
}
