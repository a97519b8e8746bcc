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
 * signs replies with server_private and signs its own requests (registration) with it too.
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
  /** Authenticates, checks freshness and replay, decrypts. */
  decodeRequest(wire: Uint8Array): DecodedRequest;
  /** Encrypts a reply to the caller of `request` and signs it as this server. */
  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array;
  /** Decrypts and authenticates a reply to one of this client's requests. */
  decodeReply(wire: Uint8Array): DecodedReply;
  /** Drops per-request reply key material once the client stops waiting for replies. */
  forgetRequest(requestid: string): void;
  /** Drops cached key material so the next use re-reads key files (SIGHUP). */
  reload(): void;
}

/** Builds a provider; registered under a name in the security registry. */
export type SecurityProviderFactory = (context: SecurityContext) => SecurityProvider;
