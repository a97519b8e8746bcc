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
  /** Warnings raised while decoding (for example a TTL check downgraded by enforce_ttl = 0). */
  warnings: string[];
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
  /** `cert=<name>` of the key that signed the reply: which server answered, cryptographically. */
  signer: string;
}
