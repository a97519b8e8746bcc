/**
 * Protocol version 1 behind the codec interface: the library of this directory (codec.ts) wired to the provider's
 * keyring, freshness, sender binding and settings, and tscollective's message shapes translated to MCollective's
 * (translate.ts). What it adds to Ruby's checks (docs/protocol.md, section 8):
 * - `plugin.aes.legacy_callers` is checked before any key work;
 * - the caller's key comes from the keyring (revocation, CA, learning; the first usable key of the name's file,
 *   since version 1 names no key id) and must be RSA;
 * - after the whole request decoded, the FreshnessGuard: expiry, the `clock_skew` future check and the replay
 *   cache and journal, keyed by the request's key block, which a replay keeps whatever requestid it claims.
 * A reply goes back in its request's serializer; replies are decoded only for requests this side sent in version 1,
 * and are marked `unsigned`: nothing in a version 1 reply is authenticated.
 */
import type { KeyObject } from 'node:crypto';
import { InvalidArgumentError, LegacyRefusedError, MalformedMessageError, NotAddressedToUsError, UnknownSenderError } from '../../../../src/errors.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../../../src/inter/message.js';
import type { DecodeRequestOptions, EncodedRequest, ReplyHandleLookup } from '../../../../src/inter/security.js';
import { calleridFor } from '../../../../src/names.js';
import { CodecHandle, CodecReplyContext, type CodecServices, type ProtocolCodec } from '../codec.js';
import type { PublicKeyEntry, ResolvedKey } from '../keyring/index.js';
import { checkFilter, checkOutgoingRequest } from '../validate-input.js';
import { decodeV1Reply, decodeV1Request, encodeV1Reply, encodeV1Request, looksLikeV1, type V1Serializer } from './codec.js';
import type { V1Limits } from './limits.js';
import { fromV1Filter, incomingReplyBody, incomingRequestBody, outgoingReplyBody, outgoingRequestBody, toV1Filter, type V1BodyKind } from './translate.js';

/** What a version 1 sender keeps for a request: its private key as it was then, and what kind of body it sent. */
export class V1Handle extends CodecHandle {
  constructor(requestid: string, codec: ProtocolCodec, readonly privateKey: KeyObject, readonly kind: V1BodyKind) {
    super(requestid, codec);
  }
}

/** What a decoded version 1 request keeps for its reply: the caller's key, the serializer and the body kind. */
export class V1ReplyContext extends CodecReplyContext {
  constructor(requestid: string, codec: ProtocolCodec, readonly caller: PublicKeyEntry, readonly serializer: V1Serializer, readonly kind: V1BodyKind) {
    super(requestid, codec);
  }
}

/** The protocol version 1 codec. */
export class V1Codec implements ProtocolCodec {
  readonly version = 1;
  private readonly limits: V1Limits;
  /** Key names `legacy_callers` allows (cert=<name> entries reduced to the name); null: every caller. */
  private readonly callers: ReadonlySet<string> | null;

  constructor(private readonly services: CodecServices) {
    const { settings } = services;
    this.limits = { maxBytes: settings.maxMessageBytes, maxItems: settings.maxPayloadItems, maxDepth: settings.maxPayloadDepth };
    this.callers = settings.legacyCallers === undefined ? null : new Set(settings.legacyCallers.map((entry) => entry.replace(/^cert=/, '')));
  }

  recognizes(wire: Uint8Array): boolean {
    return looksLikeV1(wire) !== null;
  }

  encodeRequest(request: OutgoingRequest): EncodedRequest {
    checkOutgoingRequest(request);
    const { settings, keyring, now } = this.services;
    const own = keyring.own.get();
    if (own.privateKey.type !== 'rsa') {
      throw new InvalidArgumentError(`protocol version 1 needs an RSA key, but ${settings.privateKeyKey} is ${own.privateKey.type}`);
    }
    const callerid = calleridFor(own.name);
    const { body, kind } = outgoingRequestBody(request.agent, request.body, callerid);
    // MCollective's discovery adds "collective" to a filter that selects something; `mco ping` sends an empty
    // filter without it, and a Ruby server drops a filter that has only that entry as matching nothing.
    const selects = Object.values(request.filter).some((list) => list.length > 0);
    const filter = toV1Filter(request.filter, kind === 'discovery' && selects ? request.collective : undefined);
    const wire = encodeV1Request({
      requestid: request.requestid, senderid: request.senderid, callerid, agent: request.agent, collective: request.collective,
      filter, ttl: request.ttl, body, ...(request.msgtime === undefined ? {} : { msgtime: request.msgtime }),
    }, {
      clientPrivateKey: own.privateKey.key, serializer: settings.legacySerializer, now,
      ...(settings.sendPubkey ? { clientPublicPem: own.publicKey.pem } : {}),
    });
    const handle = new V1Handle(request.requestid, this, own.privateKey.key, kind);
    return kind === 'data' ? { wire, handle, oneWay: true } : { wire, handle };
  }

  decodeRequest(wire: Uint8Array, options: DecodeRequestOptions): DecodedRequest {
    const { settings, keyring, freshness, binding, now } = this.services;
    this.checkSerializer(wire, 'request');
    let resolved: (ResolvedKey & { name: string }) | undefined;
    const decoded = decodeV1Request(wire, {
      now, limits: this.limits, enforceTtl: settings.enforceTtl, clockSkewSeconds: settings.clockSkewSeconds, freshnessWarnings: false,
      resolveCallerKey: (name, sslpubkey, senderid) => {
        if (this.callers !== null && !this.callers.has(name)) {
          throw new LegacyRefusedError(`version 1 request from cert=${name}: plugin.aes.legacy_callers does not list it`);
        }
        const found = keyring.senders.resolve(name, undefined, sslpubkey, senderid);
        if (found.entry.type !== 'rsa') throw new UnknownSenderError(`version 1 request from cert=${name}: its key ${found.entry.kid} is ${found.entry.type}; version 1 needs RSA`);
        resolved = { ...found, name };
        return found.entry.key;
      },
      ...(options.precheck ? { precheck: options.precheck } : {}),
    });
    const caller = resolved!;
    const translated = incomingRequestBody(decoded.agent, decoded.body);
    const filter = checkFilter(fromV1Filter(decoded.filter));
    const { warnings, ticket } = freshness.check({
      requestid: decoded.requestid, callerid: decoded.callerid, msgtime: decoded.msgtime, ttl: decoded.ttl, replayId: decoded.replayId,
    });
    caller.commit?.();
    freshness.record(ticket);
    return {
      requestid: decoded.requestid, senderid: decoded.senderid, callerid: decoded.callerid, agent: decoded.agent,
      collective: decoded.collective, filter, ttl: decoded.ttl, msgtime: decoded.msgtime, body: translated.body,
      senderProof: binding.proof(caller.name, caller.entry, decoded.senderid), warnings: [...decoded.warnings, ...warnings],
      ...(translated.noReply ? { noReply: true } : {}), protocol: 1,
      replyContext: new V1ReplyContext(decoded.requestid, this, caller.entry, decoded.serializer, translated.kind),
    };
  }

  encodeReply(reply: OutgoingReply, context: CodecReplyContext): Uint8Array {
    if (!(context instanceof V1ReplyContext)) throw new InvalidArgumentError('"request" must be a request decoded by this aes_security provider');
    return encodeV1Reply({
      requestid: context.requestid, senderid: reply.senderid, senderagent: reply.senderagent,
      body: outgoingReplyBody(context.kind, reply.body), ...(reply.msgtime === undefined ? {} : { msgtime: reply.msgtime }),
    }, { callerPublicKey: context.caller.key, serializer: context.serializer, now: this.services.now });
  }

  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply {
    this.checkSerializer(wire, 'reply');
    let handle: V1Handle | undefined;
    const decoded = decodeV1Reply(wire, {
      limits: this.limits,
      isOutstanding: (requestid) => {
        const found = handles(requestid);
        if (found instanceof V1Handle && found.codec === this && found.requestid === requestid) handle = found;
        return handle !== undefined;
      },
      clientPrivateKey: () => handle!.privateKey,
    });
    if (handle!.kind === 'data') throw new NotAddressedToUsError(`version 1 reply to ${decoded.requestid}, a message that has no replies`);
    return {
      requestid: decoded.requestid, senderid: decoded.senderid, senderagent: decoded.senderagent, msgtime: decoded.msgtime,
      body: incomingReplyBody(handle!.kind, decoded.body), signer: '', senderProof: 'unsigned', protocol: 1,
    };
  }

  /** Refuses a serializer this side does not accept in version 1, before anything is parsed. */
  private checkSerializer(wire: Uint8Array, kind: 'request' | 'reply'): void {
    const serializer = looksLikeV1(wire);
    if (serializer !== null && !this.services.settings.legacyAccepted.has(serializer)) {
      throw new MalformedMessageError(`version 1 ${kind} in ${serializer}, which is not accepted here ` +
        `(version 1 accepts ${[...this.services.settings.legacyAccepted].join(', ')}: plugin.aes.serializer, and yaml or marshal in plugin.aes.accept_serializers)`);
    }
  }
}
