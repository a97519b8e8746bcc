/**
 * The security provider contract. Implementations live under plugins/security/<name> and are
 * chosen by the `securityprovider` setting through src/security/registry.ts.
 * This module imports nothing but sibling interface modules.
 */
import type { ConfigView } from './config.js';
import type { Counters, Logger } from './logger.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from './message.js';

/**
 * Which side of the exchange a provider instance serves. A `client` signs requests with
 * client_private and decrypts replies; a `server` verifies requests against client_cert_dir,
 * signs replies with server_private and signs its own requests (registration) with it too, and decodes the
 * replies to those requests (registration acknowledgements).
 */
export type SecurityRole = 'client' | 'server';

/** What a provider factory receives. */
export interface SecurityContext {
  config: ConfigView;
  role: SecurityRole;
  logger: Logger;
  counters: Counters;
  /** Injected clock in milliseconds, for tests; defaults to Date.now. */
  now?: () => number;
  /**
   * A one-shot inspection (tsco decode): the provider reads persistent state (a server's replay journal) but
   * creates and writes nothing, so inspecting a message never changes what the daemon will accept.
   */
  inspectOnly?: boolean;
}

/**
 * A security provider: authenticates, encrypts and decrypts every message on the bus.
 * Decode methods throw only SecurityError subclasses (see src/errors.ts), never anything else.
 */
export interface SecurityProvider {
  readonly name: string;
  /** Every configuration problem at once; empty when the provider can run. */
  validate(): string[];
  /** This side's identity as the receiver will see it: `cert=<name>`. */
  callerid(): string;
  /**
   * Signs and encrypts a request. Returns the bytes to publish and the handle that opens its replies: the sender
   * keeps the handle while it waits (decodeReply finds it through a lookup) and drops it when it stops waiting, which
   * is all there is to forgetting a request (its reply key material lives only in the handle).
   */
  encodeRequest(request: OutgoingRequest): EncodedRequest;
  /** Authenticates, checks freshness and replay, runs `options.precheck`, decrypts. */
  decodeRequest(wire: Uint8Array, options?: DecodeRequestOptions): DecodedRequest;
  /** Encrypts a reply to the caller of `request` and signs it as this server. */
  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array;
  /**
   * Decrypts and authenticates a reply to one of this side's requests (a client's calls, a server's registrations).
   * `handles` finds the handle of the request a reply answers (by its request id); a reply for which it finds none
   * is refused with NotAddressedToUsError.
   */
  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply;
  /** Drops cached key material so the next use re-reads key files (SIGHUP). */
  reload(): void;
}

/**
 * What a sender keeps for one request while it waits for replies: opaque, made by the provider that encoded the
 * request (its reply key material: an ephemeral private key, or the signing key the reply is sealed to, kept as
 * it was when the request was sent, so a reply in flight across a key rotation still opens).
 */
export interface ReplyHandle {
  readonly requestid: string;
}

/** What encodeRequest returns. */
export interface EncodedRequest {
  /** The bytes to publish. */
  readonly wire: Uint8Array;
  /** Keep while waiting for replies; pass back to decodeReply through a ReplyHandleLookup. */
  readonly handle: ReplyHandle;
  /**
   * True when no reply can come: the protocol has none for this message (a protocol version 1 data message such as
   * registration, which Ruby receivers never answer). The sender must not wait for one.
   */
  readonly oneWay?: boolean;
}

/** Finds the handle of the request `requestid`, or undefined when this side no longer waits for it. */
export type ReplyHandleLookup = (requestid: string) => ReplyHandle | undefined;

/** The authenticated clear-text facts of a request, known before its payload is decrypted and deserialized. */
export interface RequestEnvelopeFacts {
  requestid: string;
  /** `cert=<name>`: the signer, already verified. */
  callerid: string;
  senderid: string;
  agent: string;
  collective: string;
  /** Bytes of the sealed payload that deserializing would process. */
  payloadBytes: number;
}

/** Options of decodeRequest. */
export interface DecodeRequestOptions {
  /**
   * Called once the signature verified and before the payload is decrypted and deserialized: throwing here
   * (a SecurityError) refuses the request at the cost of a signature check, so a caller no policy allows cannot
   * make the receiver parse a large payload. The daemon uses it for pre-authorization.
   */
  precheck?: (facts: RequestEnvelopeFacts) => void;
}

/** Builds a provider; registered under a name in the security registry. */
export type SecurityProviderFactory = (context: SecurityContext) => SecurityProvider;
