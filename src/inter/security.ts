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
  /** Signs and encrypts a request. */
  encodeRequest(request: OutgoingRequest): Uint8Array;
  /** Authenticates, checks freshness and replay, runs `options.precheck`, decrypts. */
  decodeRequest(wire: Uint8Array, options?: DecodeRequestOptions): DecodedRequest;
  /** Encrypts a reply to the caller of `request` and signs it as this server. */
  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array;
  /** Decrypts and authenticates a reply to one of this side's requests (a client's calls, a server's registrations). */
  decodeReply(wire: Uint8Array): DecodedReply;
  /** Drops per-request reply key material once the client stops waiting for replies. */
  forgetRequest(requestid: string): void;
  /** Drops cached key material so the next use re-reads key files (SIGHUP). */
  reload(): void;
}

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
