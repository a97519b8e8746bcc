/**
 * The aes_security provider: requests signed with RSA-PSS and sealed with AES-256-GCM under a key derived from
 * the sender's public key (readable by holders of that key, as in MCollective); replies sealed to the caller
 * (RSA-OAEP, or a forward-secret X25519 exchange) and signed by the replying server. docs/protocol.md is the contract.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import {
  BadSignatureError, IdentityMismatchError, InvalidArgumentError, MalformedMessageError, NotAddressedToUsError, SecurityError,
} from '../../../src/errors.js';
import { PROVEN_SENDER, type DecodedReply, type DecodedRequest, type OutgoingReply, type OutgoingRequest, type RequestFilter } from '../../../src/inter/message.js';
import type { DecodeRequestOptions, SecurityContext, SecurityProvider } from '../../../src/inter/security.js';
import { nameProblem } from '../../../src/names.js';
import { FreshnessGuard } from './freshness.js';
import type { PublicIdentity } from './keys.js';
import { calleridFor, nameFromCallerid } from './names.js';
import { OwnIdentity } from './own-identity.js';
import { PendingRequests } from './pending.js';
import {
  AES_KEY_BYTES, GCM_IV_BYTES, aeadDecrypt, aeadEncrypt, hmacSha256, oneStepKdf, randomBytesFast, rsaOaepUnwrap, rsaOaepWrap,
  rsaPssSign, rsaPssVerify, x25519Agree, x25519Generate,
} from './primitives.js';
import { PayloadPolicy } from './payload.js';
import { SenderBinding } from './sender-binding.js';
import { readAesSettings, type AesSettings } from './settings.js';
import { TrustStore } from './trust.js';
import {
  LABELS, decodeEnvelope, encodeEnvelope, pack, parseReplyHeader, parseRequestHeader, type ReplyKeyMaterial, type RequestHeader,
} from './wire.js';
import { checkFilter, checkOutgoingRequest } from './validate-input.js';

/** What a decoded request keeps for encoding its reply. */
interface ReplyContext {
  requestid: string;
  caller: PublicIdentity;
  material: ReplyKeyMaterial;
}

/** The aes_security SecurityProvider. */
export class AesSecurityProvider implements SecurityProvider {
  readonly name = 'aes_security';
  readonly settings: AesSettings;
  private readonly now: () => number;
  private readonly own: OwnIdentity;
  private readonly senders: TrustStore;
  private readonly repliers: TrustStore;
  private readonly freshness: FreshnessGuard;
  private readonly pending: PendingRequests;
  private readonly payload: PayloadPolicy;
  private readonly binding: SenderBinding;
  private readonly requestKeys = new WeakMap<KeyObject, Buffer>();

  constructor(private readonly context: SecurityContext) {
    this.settings = readAesSettings(context.config, context.role);
    this.now = context.now ?? Date.now;
    const s = this.settings;
    const trust = {
      caCertPath: s.caCert, learn: s.learnPubkeys, insecureLearning: s.insecureLearning,
      recheckMs: s.keyRecheckMs, now: this.now, logger: context.logger, counters: context.counters,
    };
    this.own = new OwnIdentity(s, this.now);
    this.senders = new TrustStore({ ...trust, dir: s.clientCertDir });
    this.repliers = s.serverCertDir === s.clientCertDir ? this.senders : new TrustStore({ ...trust, dir: s.serverCertDir });
    const journal = s.role === 'client' ? 'off' : context.inspectOnly ? 'read' : 'write';
    this.freshness = new FreshnessGuard(s, { now: this.now, logger: context.logger, counters: context.counters }, journal);
    this.pending = new PendingRequests(this.now);
    this.payload = new PayloadPolicy(s);
    this.binding = new SenderBinding({
      sharedKeys: s.sharedServerKeys, identityMapPath: s.identityMapPath, recheckMs: s.keyRecheckMs, now: this.now, logger: context.logger,
      // Without a CA, learned certificates may be anyone's: their names then prove nothing beyond the key's own name.
      certificateProofs: !(s.learnPubkeys && s.insecureLearning && !s.caCert),
    });
  }

  validate(): string[] {
    const s = this.settings;
    const config = this.context.config;
    const at = (key: string) => `${key} (${config.origin(key)})`;
    const problems = this.payload.problems().map(({ key, problem }) => `${at(key)}: ${problem}`);
    try {
      this.own.get();
    } catch (error) {
      problems.push((error as Error).message);
    }
    const server = s.role === 'server';
    const dir = server ? s.clientCertDir : s.serverCertDir;
    if (dir === undefined) {
      problems.push(server
        ? 'plugin.aes.client_cert_dir is not set: it is needed to authenticate requests'
        : 'plugin.aes.server_cert_dir is not set: it is needed to authenticate replies (or set plugin.aes.client_cert_dir)');
    } else {
      // A client's server_cert_dir defaults to client_cert_dir: name the key the directory actually came from.
      const dirKey = server || !config.has('plugin.aes.server_cert_dir') ? 'plugin.aes.client_cert_dir' : 'plugin.aes.server_cert_dir';
      const dirProblem = directoryProblem(dir, s.learnPubkeys);
      if (dirProblem) problems.push(`${at(dirKey)}: ${dirProblem}`);
    }
    if (s.learnPubkeys && !s.caCert && !s.insecureLearning) {
      problems.push(`${at('plugin.aes.learn_pubkeys')}: learning needs plugin.aes.ca_cert to verify keys, or plugin.aes.insecure_learning = 1 to accept any key`);
    }
    const caProblem = this.senders.caProblem();
    if (caProblem) problems.push(`${at('plugin.aes.ca_cert')}: ${caProblem}`);
    for (const name of s.sharedServerKeys) {
      const problem = nameProblem('keyName', 'a shared server key', name);
      if (problem) problems.push(`${at('plugin.aes.shared_server_keys')}: ${problem}`);
    }
    const mapProblem = this.binding.mapProblem();
    if (mapProblem) problems.push(`${at('plugin.aes.identity_map')}: ${mapProblem}`);
    const journalProblem = this.freshness.start();
    if (journalProblem) problems.push(journalProblem);
    return problems;
  }

  callerid(): string {
    return calleridFor(this.own.get().publicKey.name);
  }

  encodeRequest(request: OutgoingRequest): Uint8Array {
    checkOutgoingRequest(request);
    const { privateKey, publicKey } = this.own.get();
    const msgtime = request.msgtime ?? Math.floor(this.now() / 1000);
    let reply: ReplyKeyMaterial = { mode: 'rsa' };
    if (this.settings.role === 'client') {
      if (this.settings.replyMode === 'ephemeral') {
        const ephemeral = x25519Generate();
        reply = { mode: 'ephemeral', pk: ephemeral.publicKey };
        this.pending.add(request.requestid, { mode: 'ephemeral', ...ephemeral }, request.ttl);
      } else {
        this.pending.add(request.requestid, { mode: 'rsa' }, request.ttl);
      }
    } else {
      // A server's own requests (registration) are acknowledged with replies sealed to its key.
      this.pending.add(request.requestid, { mode: 'rsa' }, request.ttl);
    }
    const iv = randomBytesFast(GCM_IV_BYTES);
    const header: RequestHeader = {
      requestid: request.requestid, senderid: request.senderid, callerid: calleridFor(publicKey.name),
      agent: request.agent, collective: request.collective, ttl: request.ttl, msgtime, kid: publicKey.kid,
      serializer: this.settings.serializer, iv, reply,
      ...(this.settings.sendPubkey ? { pubkey: publicKey.pem } : {}),
    };
    const headerBytes = pack(header);
    const plaintext = this.payload.outgoing().serialize({ filter: request.filter, body: request.body });
    const ciphertext = aeadEncrypt(this.requestKey(publicKey), iv, plaintext, headerBytes);
    const signature = rsaPssSign(privateKey.key, [LABELS.requestSignature, headerBytes, ciphertext]);
    return encodeEnvelope('request', headerBytes, ciphertext, signature);
  }

  decodeRequest(wire: Uint8Array, options: DecodeRequestOptions = {}): DecodedRequest {
    try {
      this.payload.checkSize(wire, 'request');
      const envelope = decodeEnvelope(wire, 'request');
      const header = parseRequestHeader(envelope.headerBytes);
      const what = `request ${header.requestid} from ${header.callerid}@${header.senderid}`;
      this.payload.checkSerializer(header.serializer, what);
      const name = nameFromCallerid(header.callerid) as string;
      const resolved = this.senders.resolve(name, header.kid, header.pubkey, header.senderid);
      if (!rsaPssVerify(resolved.identity.key, [LABELS.requestSignature, envelope.headerBytes, envelope.ciphertext], envelope.signature)) {
        throw new BadSignatureError(`${what}: signature does not verify`);
      }
      resolved.commit?.();
      const { warnings, ticket } = this.freshness.check(header);
      options.precheck?.({
        requestid: header.requestid, callerid: header.callerid, senderid: header.senderid, agent: header.agent,
        collective: header.collective, payloadBytes: envelope.ciphertext.length,
      });
      const plaintext = aeadDecrypt(this.requestKey(resolved.identity), header.iv, envelope.ciphertext, envelope.headerBytes);
      if (plaintext === null) {
        throw new BadSignatureError(`request ${header.requestid}: payload does not authenticate under ${name}'s key (its private and public key files may not match)`);
      }
      const payload = this.payload.decode(header.serializer, plaintext, what) as { filter?: unknown; body?: unknown };
      if (typeof payload !== 'object' || payload === null || !('body' in payload)) {
        throw new MalformedMessageError(`request ${header.requestid}: payload must be a map with filter and body`);
      }
      const filter: RequestFilter = checkFilter(payload.filter);
      const replyContext: ReplyContext = { requestid: header.requestid, caller: resolved.identity, material: header.reply };
      // A client's request names its host in senderid and is not bound to it; registration needs the proof.
      const senderProof = this.binding.proof(name, resolved.identity, header.senderid);
      this.freshness.record(ticket);
      return {
        requestid: header.requestid, senderid: header.senderid, callerid: header.callerid, agent: header.agent,
        collective: header.collective, filter, ttl: header.ttl, msgtime: header.msgtime, body: payload.body,
        senderProof, warnings, replyContext,
      };
    } catch (error) {
      throw asSecurityError(error);
    }
  }

  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array {
    const context = request.replyContext as ReplyContext | undefined;
    if (!context || typeof context !== 'object' || !('caller' in context)) {
      throw new InvalidArgumentError('"request" must be a request decoded by this aes_security provider');
    }
    if (typeof reply.senderid !== 'string' || typeof reply.senderagent !== 'string') {
      throw new InvalidArgumentError('"reply" needs string senderid and senderagent');
    }
    const { privateKey, publicKey } = this.own.get();
    const iv = randomBytesFast(GCM_IV_BYTES);
    const common = {
      requestid: context.requestid, senderid: reply.senderid, senderagent: reply.senderagent,
      msgtime: reply.msgtime ?? Math.floor(this.now() / 1000), signer: calleridFor(publicKey.name), kid: publicKey.kid,
      serializer: this.settings.serializer, iv, ...(this.settings.sendPubkey ? { pubkey: publicKey.pem } : {}),
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
    const ciphertext = aeadEncrypt(key, iv, this.payload.outgoing().serialize(reply.body), headerBytes);
    key.fill(0);
    const signature = rsaPssSign(privateKey.key, [LABELS.replySignature, headerBytes, ciphertext]);
    return encodeEnvelope('reply', headerBytes, ciphertext, signature);
  }

  decodeReply(wire: Uint8Array): DecodedReply {
    try {
      this.payload.checkSize(wire, 'reply');
      const envelope = decodeEnvelope(wire, 'reply');
      const header = parseReplyHeader(envelope.headerBytes);
      const pending = this.pending.get(header.requestid);
      if (!pending) throw new NotAddressedToUsError(`reply to request ${header.requestid}, which this client did not send or no longer waits for`);
      if (pending.mode !== header.mode) {
        throw new NotAddressedToUsError(`reply to request ${header.requestid} uses ${header.mode} encryption, but the request asked for ${pending.mode}`);
      }
      const own = header.mode === 'rsa' ? this.own.get() : undefined;
      if (own && header.mode === 'rsa' && header.to !== own.publicKey.kid) {
        throw new NotAddressedToUsError(`reply is encrypted to key id ${header.to}; ours is ${own.publicKey.kid}`);
      }
      const what = `reply from ${header.signer}@${header.senderid} to ${header.requestid}`;
      this.payload.checkSerializer(header.serializer, what);
      const name = nameFromCallerid(header.signer) as string;
      const resolved = this.repliers.resolve(name, header.kid, header.pubkey, header.senderid);
      if (!rsaPssVerify(resolved.identity.key, [LABELS.replySignature, envelope.headerBytes, envelope.ciphertext], envelope.signature)) {
        throw new BadSignatureError(`${what}: signature does not verify`);
      }
      resolved.commit?.();
      const senderProof = this.binding.proof(name, resolved.identity, header.senderid);
      if (!PROVEN_SENDER.has(senderProof) && senderProof !== 'shared') {
        throw new IdentityMismatchError(`${what}: key ${header.signer} is not bound to identity ${header.senderid} (${this.binding.explain(name, resolved.identity, header.senderid)})`);
      }
      let key: Buffer | null;
      if (header.mode === 'ephemeral') {
        const shared = pending.privateKey ? x25519Agree(pending.privateKey, header.epk) : null;
        if (shared === null) throw new MalformedMessageError(`reply to ${header.requestid}: unusable ephemeral key`);
        key = oneStepKdf(shared, LABELS.replyKey, header.epk, pending.publicKey as Uint8Array);
      } else {
        key = rsaOaepUnwrap((own as NonNullable<typeof own>).privateKey.key, header.wrappedkey);
        if (key === null) throw new NotAddressedToUsError(`reply to ${header.requestid}: its key is not wrapped to our private key`);
      }
      const plaintext = aeadDecrypt(key, header.iv, envelope.ciphertext, envelope.headerBytes);
      if (plaintext === null) throw new BadSignatureError(`reply from ${header.senderid} to ${header.requestid}: payload does not authenticate`);
      return {
        requestid: header.requestid, senderid: header.senderid, senderagent: header.senderagent, msgtime: header.msgtime,
        body: this.payload.decode(header.serializer, plaintext, what), signer: header.signer, senderProof,
      };
    } catch (error) {
      throw asSecurityError(error);
    }
  }

  forgetRequest(requestid: string): void {
    this.pending.delete(requestid);
  }

  reload(): void {
    this.own.reload();
    this.senders.reload();
    if (this.repliers !== this.senders) this.repliers.reload();
    this.binding.reload();
  }

  /** Syncs and closes the replay journal (tests and tools; a daemon's provider lives as long as its process). */
  close(): void {
    this.freshness.close();
  }

  /** The request sealing key of a sender: derived once per public key and cached with it. */
  private requestKey(identity: PublicIdentity): Buffer {
    let key = this.requestKeys.get(identity.key);
    if (!key) {
      key = hmacSha256(LABELS.requestKey, identity.key.export({ format: 'der', type: 'spki' }));
      this.requestKeys.set(identity.key, key);
    }
    return key;
  }
}

/** Decode methods throw nothing but SecurityError subclasses: anything else becomes TSC_SEC_MALFORMED. */
function asSecurityError(error: unknown): SecurityError {
  if (error instanceof SecurityError) return error;
  return new MalformedMessageError(`message rejected: ${(error as Error).message}`, { cause: error });
}

function directoryProblem(dir: string, writable: boolean): string | null {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    if (writable) accessSync(dir, fsConstants.W_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${dir} does not exist`;
    if (code === 'EACCES') return `${dir} is not writable, but learn_pubkeys = 1 needs to store keys there`;
    return `${dir}: ${(error as Error).message}`;
  }
}
