/**
 * Protocol version 2 (docs/protocol.md is the contract): requests signed by the sender's key (RSA-PSS, ECDSA P-256
 * or Ed25519, by key type) and sealed with AES-256-GCM under a key derived from the sender's public key, readable by
 * holders of that key, as in MCollective; replies sealed to the caller (RSA-OAEP to an RSA caller key, or a
 * forward-secret X25519 exchange for any key type) and signed by the replying server.
 */
import type { KeyObject } from 'node:crypto';
import {
  BadSignatureError, IdentityMismatchError, InvalidArgumentError, KeyFileError, MalformedMessageError, NotAddressedToUsError,
} from '../../../../src/errors.js';
import { PROVEN_SENDER, type DecodedReply, type DecodedRequest, type OutgoingReply, type OutgoingRequest, type ReplyMode, type RequestFilter } from '../../../../src/inter/message.js';
import type { DecodeRequestOptions, EncodedRequest, ReplyHandleLookup } from '../../../../src/inter/security.js';
import { calleridFor, nameFromCallerid } from '../../../../src/names.js';
import { CodecHandle, CodecReplyContext, type CodecServices, type ProtocolCodec } from '../codec.js';
import type { PublicKeyEntry } from '../keyring/index.js';
import {
  AES_KEY_BYTES, GCM_IV_BYTES, aeadDecrypt, aeadEncrypt, hmacSha256, oneStepKdf, randomBytesFast, rsaOaepUnwrap, rsaOaepWrap,
  signParts, verifyParts, x25519Agree, x25519Generate,
} from '../primitives.js';
import { checkFilter, checkOutgoingRequest } from '../validate-input.js';
import {
  LABELS, PROTOCOL_VERSION, decodeEnvelope, encodeEnvelope, pack, parseReplyHeader, parseRequestHeader, type ReplyKeyMaterial, type RequestHeader,
} from './wire.js';

/** What a version 2 sender keeps for a request: how its replies are sealed, and the key material to open them. */
export class V2Handle extends CodecHandle {
  constructor(
    requestid: string,
    codec: ProtocolCodec,
    readonly mode: ReplyMode,
    /** rsa: the private key that signed the request (replies are wrapped to its public half), as it was then. */
    readonly signingKey?: { key: KeyObject; kid: string },
    /** ephemeral: the X25519 pair made for this request. */
    readonly ephemeral?: { privateKey: KeyObject; publicKey: Uint8Array },
  ) {
    super(requestid, codec);
  }
}

/** What a decoded version 2 request keeps for encoding its reply. */
export class V2ReplyContext extends CodecReplyContext {
  constructor(requestid: string, codec: ProtocolCodec, readonly caller: PublicKeyEntry, readonly material: ReplyKeyMaterial) {
    super(requestid, codec);
  }
}

/** The version 2 codec. */
export class V2Codec implements ProtocolCodec {
  readonly version = PROTOCOL_VERSION;
  private readonly requestKeys = new WeakMap<PublicKeyEntry, Buffer>();

  constructor(private readonly services: CodecServices) {}

  recognizes(wire: Uint8Array): boolean {
    return wire.length >= 4 && wire[0] === 0x54 && wire[1] === 0x53 && wire[2] === 0x43 && wire[3] === PROTOCOL_VERSION;
  }

  encodeRequest(request: OutgoingRequest): EncodedRequest {
    checkOutgoingRequest(request);
    const { settings, keyring, payload } = this.services;
    const own = keyring.own.get();
    const msgtime = request.msgtime ?? Math.floor(this.services.now() / 1000);
    const mode = replyModeFor(settings.role === 'client' ? settings.replyMode : undefined, own.privateKey.type, settings.privateKeyKey);
    let handle: V2Handle;
    let reply: ReplyKeyMaterial;
    if (mode === 'ephemeral') {
      const ephemeral = x25519Generate();
      reply = { mode: 'ephemeral', pk: ephemeral.publicKey };
      handle = new V2Handle(request.requestid, this, 'ephemeral', undefined, ephemeral);
    } else {
      reply = { mode: 'rsa' };
      handle = new V2Handle(request.requestid, this, 'rsa', { key: own.privateKey.key, kid: own.privateKey.kid });
    }
    const iv = randomBytesFast(GCM_IV_BYTES);
    const header: RequestHeader = {
      requestid: request.requestid, senderid: request.senderid, callerid: calleridFor(own.name),
      agent: request.agent, collective: request.collective, ttl: request.ttl, msgtime, kid: own.publicKey.kid,
      serializer: settings.serializer, iv, reply,
      ...(settings.sendPubkey ? { pubkey: own.publicKey.pem } : {}),
    };
    const headerBytes = pack(header);
    const plaintext = payload.outgoing().serialize({ filter: request.filter, body: request.body });
    const ciphertext = aeadEncrypt(this.requestKey(own.publicKey), iv, plaintext, headerBytes);
    const signature = signParts(own.privateKey.type, own.privateKey.key, [LABELS.requestSignature, headerBytes, ciphertext]);
    return { wire: encodeEnvelope('request', headerBytes, ciphertext, signature), handle };
  }

  decodeRequest(wire: Uint8Array, options: DecodeRequestOptions): DecodedRequest {
    const { keyring, payload, freshness, binding } = this.services;
    const envelope = decodeEnvelope(wire, 'request');
    const header = parseRequestHeader(envelope.headerBytes);
    const what = `request ${header.requestid} from ${header.callerid}@${header.senderid}`;
    payload.checkSerializer(header.serializer, what);
    const name = nameFromCallerid(header.callerid) as string;
    const resolved = keyring.senders.resolve(name, header.kid, header.pubkey, header.senderid);
    const caller = resolved.entry;
    if (!verifyParts(caller.type, caller.key, [LABELS.requestSignature, envelope.headerBytes, envelope.ciphertext], envelope.signature)) {
      throw new BadSignatureError(`${what}: signature does not verify (key ${caller.kid}, ${caller.type})`);
    }
    if (header.reply.mode === 'rsa' && caller.type !== 'rsa') {
      throw new MalformedMessageError(`${what}: asks for rsa reply encryption, but its key ${caller.kid} is ${caller.type}; ` +
        'replies are sealed with RSA-OAEP only to RSA keys (the client must use plugin.aes.reply_encryption = ephemeral)');
    }
    resolved.commit?.();
    const { warnings, ticket } = freshness.check(header);
    options.precheck?.({
      requestid: header.requestid, callerid: header.callerid, senderid: header.senderid, agent: header.agent,
      collective: header.collective, payloadBytes: envelope.ciphertext.length,
    });
    const plaintext = aeadDecrypt(this.requestKey(caller), header.iv, envelope.ciphertext, envelope.headerBytes);
    if (plaintext === null) {
      throw new BadSignatureError(`request ${header.requestid}: payload does not authenticate under ${name}'s key (its private and public key files may not match)`);
    }
    const body = payload.decode(header.serializer, plaintext, what) as { filter?: unknown; body?: unknown };
    if (typeof body !== 'object' || body === null || !('body' in body)) {
      throw new MalformedMessageError(`request ${header.requestid}: payload must be a map with filter and body`);
    }
    const filter: RequestFilter = checkFilter(body.filter);
    // A client's request names its host in senderid and is not bound to it; registration needs the proof.
    const senderProof = binding.proof(name, caller, header.senderid);
    freshness.record(ticket);
    return {
      requestid: header.requestid, senderid: header.senderid, callerid: header.callerid, agent: header.agent,
      collective: header.collective, filter, ttl: header.ttl, msgtime: header.msgtime, body: body.body,
      senderProof, warnings, protocol: PROTOCOL_VERSION, replyContext: new V2ReplyContext(header.requestid, this, caller, header.reply),
    };
  }

  encodeReply(reply: OutgoingReply, context: CodecReplyContext): Uint8Array {
    if (!(context instanceof V2ReplyContext)) throw new InvalidArgumentError('"request" must be a request decoded by this aes_security provider');
    const { settings, keyring, payload } = this.services;
    const own = keyring.own.get();
    const iv = randomBytesFast(GCM_IV_BYTES);
    const common = {
      requestid: context.requestid, senderid: reply.senderid, senderagent: reply.senderagent,
      msgtime: reply.msgtime ?? Math.floor(this.services.now() / 1000), signer: calleridFor(own.name), kid: own.publicKey.kid,
      serializer: settings.serializer, iv, ...(settings.sendPubkey ? { pubkey: own.publicKey.pem } : {}),
    };
    let key: Buffer;
    let header: object;
    if (context.material.mode === 'ephemeral') {
      const ephemeral = x25519Generate();
      const shared = x25519Agree(ephemeral.privateKey, context.material.pk);
      if (shared === null) throw new InvalidArgumentError(`request ${context.requestid} carries an unusable X25519 reply key`);
      key = oneStepKdf(shared, LABELS.replyKey, ephemeral.publicKey, context.material.pk);
      header = { ...common, mode: 'ephemeral', epk: ephemeral.publicKey };
    } else {
      key = randomBytesFast(AES_KEY_BYTES);
      header = { ...common, mode: 'rsa', to: context.caller.kid, wrappedkey: rsaOaepWrap(context.caller.key, key) };
    }
    const headerBytes = pack(header);
    const ciphertext = aeadEncrypt(key, iv, payload.outgoing().serialize(reply.body), headerBytes);
    key.fill(0);
    const signature = signParts(own.privateKey.type, own.privateKey.key, [LABELS.replySignature, headerBytes, ciphertext]);
    return encodeEnvelope('reply', headerBytes, ciphertext, signature);
  }

  decodeReply(wire: Uint8Array, handles: ReplyHandleLookup): DecodedReply {
    const { keyring, payload, binding } = this.services;
    const envelope = decodeEnvelope(wire, 'reply');
    const header = parseReplyHeader(envelope.headerBytes);
    const handle = handles(header.requestid);
    if (!(handle instanceof V2Handle) || handle.requestid !== header.requestid || handle.codec !== this) {
      throw new NotAddressedToUsError(`reply to request ${header.requestid}, which this client did not send or no longer waits for`);
    }
    if (handle.mode !== header.mode) {
      throw new NotAddressedToUsError(`reply to request ${header.requestid} uses ${header.mode} encryption, but the request asked for ${handle.mode}`);
    }
    if (header.mode === 'rsa' && header.to !== handle.signingKey!.kid) {
      throw new NotAddressedToUsError(`reply is encrypted to key id ${header.to}; the request was signed with ${handle.signingKey!.kid}`);
    }
    const what = `reply from ${header.signer}@${header.senderid} to ${header.requestid}`;
    payload.checkSerializer(header.serializer, what);
    const name = nameFromCallerid(header.signer) as string;
    const resolved = keyring.repliers.resolve(name, header.kid, header.pubkey, header.senderid);
    const signer = resolved.entry;
    if (!verifyParts(signer.type, signer.key, [LABELS.replySignature, envelope.headerBytes, envelope.ciphertext], envelope.signature)) {
      throw new BadSignatureError(`${what}: signature does not verify (key ${signer.kid}, ${signer.type})`);
    }
    resolved.commit?.();
    const senderProof = binding.proof(name, signer, header.senderid);
    if (!PROVEN_SENDER.has(senderProof) && senderProof !== 'shared') {
      throw new IdentityMismatchError(`${what}: key ${header.signer} is not bound to identity ${header.senderid} (${binding.explain(name, signer, header.senderid)})`);
    }
    let key: Buffer | null;
    if (header.mode === 'ephemeral') {
      const ephemeral = handle.ephemeral!;
      const shared = x25519Agree(ephemeral.privateKey, header.epk);
      if (shared === null) throw new MalformedMessageError(`reply to ${header.requestid}: unusable ephemeral key`);
      key = oneStepKdf(shared, LABELS.replyKey, header.epk, ephemeral.publicKey);
    } else {
      key = rsaOaepUnwrap(handle.signingKey!.key, header.wrappedkey);
      if (key === null) throw new NotAddressedToUsError(`reply to ${header.requestid}: its key is not wrapped to our private key`);
    }
    const plaintext = aeadDecrypt(key, header.iv, envelope.ciphertext, envelope.headerBytes);
    if (plaintext === null) throw new BadSignatureError(`reply from ${header.senderid} to ${header.requestid}: payload does not authenticate`);
    return {
      requestid: header.requestid, senderid: header.senderid, senderagent: header.senderagent, msgtime: header.msgtime,
      body: payload.decode(header.serializer, plaintext, what), signer: header.signer, senderProof, protocol: PROTOCOL_VERSION,
    };
  }

  /** The request sealing key of a sender: derived once per public key from its SPKI DER and kept with it. */
  private requestKey(entry: PublicKeyEntry): Buffer {
    let key = this.requestKeys.get(entry);
    if (!key) {
      key = hmacSha256(LABELS.requestKey, entry.spki);
      this.requestKeys.set(entry, key);
    }
    return key;
  }
}

/**
 * How a request asks to be answered: a client's `reply_encryption`; a server's own requests (registration) as rsa
 * with an RSA key and ephemeral otherwise. rsa replies are wrapped with RSA-OAEP, so they need an RSA key.
 */
export function replyModeFor(configured: ReplyMode | undefined, type: PublicKeyEntry['type'], privateKeyKey: string): ReplyMode {
  if (configured === undefined) return type === 'rsa' ? 'rsa' : 'ephemeral';
  if (configured === 'rsa' && type !== 'rsa') {
    throw new KeyFileError(`plugin.aes.reply_encryption = rsa seals replies to the caller's RSA key, but ${privateKeyKey} is not an RSA key (it is ${type}): ` +
      'set plugin.aes.reply_encryption = ephemeral (forward-secret X25519 replies, for any key type)');
  }
  return configured;
}
