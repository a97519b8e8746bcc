/**
 * The codec seam of aes_security: one `ProtocolCodec` per protocol version, each owning its wire format and crypto
 * scheme, all sharing the provider's services (keyring, freshness, payload bounds, sender binding). The provider
 * picks a codec by the envelope when decoding (`recognizes`), by the settings when encoding, and answers a request
 * with the codec that decoded it. A codec's handles and reply contexts carry the codec, so nothing is kept in step
 * by hand.
 */
import type { Counters, Logger } from '../../../src/inter/logger.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../../src/inter/message.js';
import type { DecodeRequestOptions, EncodedRequest, ReplyHandle, ReplyHandleLookup } from '../../../src/inter/security.js';
import type { FreshnessGuard } from './freshness.js';
import type { Keyring } from './keyring/index.js';
import type { PayloadPolicy } from './payload.js';
import type { SenderBinding } from './sender-binding.js';
import type { AesSettings } from './settings.js';

/** What every codec gets from the provider. */
export interface CodecServices {
  readonly settings: AesSettings;
  /** Own key, others' keys (resolved by name and key id, with learning, revocation and the CA check). */
  readonly keyring: Keyring;
  /** TTL, clock skew, replay cache and journal of received requests. */
  readonly freshness: FreshnessGuard;
  /** max_message_size, accepted serializers, payload structure bounds; (de)serialization. */
  readonly payload: PayloadPolicy;
  /** How a message's senderid is bound to the key that signed it. */
  readonly binding: SenderBinding;
  readonly now: () => number;
  readonly logger: Logger;
  readonly counters: Counters;
}

/** One protocol version's wire format and scheme. Decode methods throw only SecurityError subclasses. */
export interface ProtocolCodec {
  /** The protocol version (the envelope's version byte for version 2). */
  readonly version: number;
  /** Whether a received message is in this version's format: a look at its first bytes, nothing more. */
  recognizes(wire: Uint8Array): boolean;
  /** Signs and seals a request as this side; the handle is a CodecHandle of this codec. */
  encodeRequest(request: OutgoingRequest): EncodedRequest;
  /** Authenticates, checks freshness, runs the precheck, decrypts; the reply context is a CodecReplyContext of this codec. */
  decodeRequest(wire: Uint8Array, options: DecodeRequestOptions): DecodedRequest;
  /** Seals a reply to the caller of a request this codec decoded (`context` is its reply context). */
  encodeReply(reply: OutgoingReply, context: CodecReplyContext): Uint8Array;
  /** Opens a reply to a request this codec encoded, whose handle `handles` finds. */
  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply;
}

/** Base of every codec's reply handle: the request it answers and the codec that made it. */
export abstract class CodecHandle implements ReplyHandle {
  constructor(readonly requestid: string, readonly codec: ProtocolCodec) {}
}

/** Base of every codec's reply context (DecodedRequest.replyContext): the codec that decoded the request. */
export abstract class CodecReplyContext {
  constructor(readonly requestid: string, readonly codec: ProtocolCodec) {}
}
