/**
 * Protocol version 1: MCollective 2.x `aes_security` messages, encoded and decoded exactly as Ruby's
 * security/aes_security.rb does (docs/protocol.md section 8 is the contract), with the checks Ruby leaves out added where
 * they break nothing: bounded parsing, strict types and names, a future-date check, one error class per failure.
 *
 * Requests: outer Symbol-keyed hash in clear text; `:body` = base64(AES(serialize({:aes_msg, :aes_ttl, :aes_msgtime})));
 * `:sslkey` = base64(the pass, private-encrypted with the client's key). Whoever holds the client's public key can
 * read a request and, unlike version 2, forge one. Replies: `:body` = base64(AES(serialize(body))), `:sslkey` = the pass
 * public-encrypted to the caller: confidential, but nothing in a reply is authenticated.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { BadSignatureError, ExpiredError, FutureDatedError, MalformedMessageError, NotAddressedToUsError, UnknownSenderError } from '../../../../src/errors.js';
import { checkName, nameFromCallerid } from '../../../../src/names.js';
import type { RequestEnvelopeFacts, SenderProof } from '../../../../src/inter/index.js';
import { aesDecrypt, aesEncrypt, decode64, encode64, randomPass, unwrapReplyPass, unwrapRequestPass, wrapReplyPass, wrapRequestPass } from './crypto.js';
import { MAX_TTL, describe, filterToRuby, integerField, nameField, outerFields, parseFilter, pubkeyField, stringField, type V1Filter } from './fields.js';
import { DEFAULT_V1_LIMITS, type V1Limits } from './limits.js';
import { readMarshal, writeMarshal } from './marshal.js';
import { RubyHash, RubySymbol, symHash, type RubyValue } from './ruby-values.js';
import { looksLikeV1, type V1Serializer } from './detect.js';

export { looksLikeV1, type V1Serializer } from './detect.js';
import { emitYaml } from './yaml-emit.js';
import { loadYaml } from './yaml-load.js';


const MAX_MSGTIME = 2 ** 40;
const MAX_BASE64 = 64 * 1024 * 1024;


/** Serializes a Ruby value as Ruby's `YAML.dump` or `Marshal.dump` would. */
export function serializeV1(value: RubyValue, serializer: V1Serializer): Buffer {
  return serializer === 'yaml' ? emitYaml(value) : writeMarshal(value);
}

/** Deserializes within `limits` as Ruby's `YAML.safe_load` or `Marshal.load` would, refusing non-data types. */
export function deserializeV1(bytes: Uint8Array, serializer: V1Serializer, limits: V1Limits = DEFAULT_V1_LIMITS): RubyValue {
  return serializer === 'yaml' ? loadYaml(bytes, limits) : readMarshal(bytes, limits);
}

function detect(bytes: Uint8Array, kind: string): V1Serializer {
  if (!(bytes instanceof Uint8Array)) throw new MalformedMessageError(`version 1 ${kind}: expected bytes, got ${typeof bytes}`);
  const serializer = looksLikeV1(bytes);
  if (serializer === null) throw new MalformedMessageError(`version 1 ${kind}: neither Marshal (0x04 0x08) nor YAML (---)`);
  return serializer;
}

function base64Field(fields: Map<string, RubyValue>, key: string, where: string): Buffer {
  return decode64(stringField(fields, key, MAX_BASE64, where), `${where} :${key}`);
}

const seconds = (now: () => number): number => Math.floor(now() / 1000);

// ---- requests ---------------------------------------------------------------------------------------------------

/** What a version 1 request carries, before encoding. */
export interface V1RequestFields {
  requestid: string;
  senderid: string;
  /** `cert=<name>`: the name of the key in `clientPrivateKey`, as servers will look it up. */
  callerid: string;
  agent: string;
  collective: string;
  filter: V1Filter;
  ttl: number;
  /** Epoch seconds; taken from the clock when absent. */
  msgtime?: number;
  /** The body: an RPC request Hash (rpc-body.ts) or discovery's "ping". */
  body: RubyValue;
}

/** How to encode a request. */
export interface EncodeV1RequestOptions {
  clientPrivateKey: KeyObject;
  /** The client's public key file, sent verbatim as `:sslpubkey` (`plugin.aes.send_pubkey = 1`). */
  clientPublicPem?: string;
  serializer: V1Serializer;
  /** Clock in milliseconds; Date.now by default. */
  now?: () => number;
}

/** Encodes a request as a Ruby client would (aes_security.rb encoderequest). */
export function encodeV1Request(fields: V1RequestFields, options: EncodeV1RequestOptions): Buffer {
  checkName('requestid', 'requestid', fields.requestid);
  checkName('identity', 'senderid', fields.senderid);
  checkName('callerid', 'callerid', fields.callerid);
  checkName('agent', 'agent', fields.agent);
  checkName('collective', 'collective', fields.collective);
  const msgtime = fields.msgtime ?? seconds(options.now ?? Date.now);
  const inner = symHash({ aes_msg: fields.body, aes_ttl: fields.ttl, aes_msgtime: msgtime });
  const pass = randomPass();
  const ciphertext = aesEncrypt(pass, serializeV1(inner, options.serializer));
  const outer = symHash({
    body: encode64(ciphertext),
    senderid: fields.senderid,
    requestid: fields.requestid,
    filter: filterToRuby(fields.filter),
    collective: fields.collective,
    agent: fields.agent,
    callerid: fields.callerid,
    ttl: fields.ttl,
    msgtime,
    sslkey: encode64(wrapRequestPass(options.clientPrivateKey, pass)),
  });
  if (options.clientPublicPem !== undefined) outer.set(new RubySymbol('sslpubkey'), options.clientPublicPem);
  pass.fill(0);
  return serializeV1(outer, options.serializer);
}

/** How to decode a request. */
export interface DecodeV1RequestOptions {
  /**
   * The public key of the caller named `name` (`cert=<name>`), or null when none is known. `sslpubkey` is the key the
   * message carries, if any, for a caller that learns keys (learn_pubkeys); trusting it is the caller's decision.
   * `senderid` is the (clear-text, unproven) identity the request claims.
   */
  resolveCallerKey(name: string, sslpubkey: string | undefined, senderid: string): KeyObject | null;
  /** Clock in milliseconds; Date.now by default. */
  now?: () => number;
  limits?: V1Limits;
  /** false (`enforce_ttl = 0`): expiry, future dates and ttl/msgtime mismatches become warnings. Default true. */
  enforceTtl?: boolean;
  /** Seconds a request may be dated in the future (Ruby has no such check). Default 5. */
  clockSkewSeconds?: number;
  /**
   * With `enforceTtl` false, whether expiry and future dates are returned as warnings (default true). false: the
   * caller checks freshness itself on the values returned (the provider's FreshnessGuard does).
   */
  freshnessWarnings?: boolean;
  /** Called once the caller's key opened `:sslkey`, before the body is decrypted and deserialized. */
  precheck?: (facts: RequestEnvelopeFacts) => void;
}

/** A decoded version 1 request. `body` is what `:aes_msg` held. */
export interface V1DecodedRequest {
  serializer: V1Serializer;
  requestid: string;
  senderid: string;
  callerid: string;
  agent: string;
  collective: string;
  filter: V1Filter;
  ttl: number;
  msgtime: number;
  body: RubyValue;
  /** The `:sslpubkey` the message carried. */
  sslpubkey?: string;
  /**
   * Hex SHA-256 of the `:sslkey` key block: what identifies the message for replay checks. The key block is the one
   * part the sender's key authenticates (a replay with another requestid has the same one), and a fresh random pass
   * makes it differ in every message a sender writes.
   */
  replayId: string;
  /** A caller's request proves nothing about senderid (as in version 2). */
  senderProof: SenderProof;
  warnings: string[];
}

function freshness(request: { ttl: number; msgtime: number; requestid: string }, nowSeconds: number, skew: number, enforce: boolean, warnings: string[]): void {
  const age = nowSeconds - request.msgtime;
  let problem: ExpiredError | FutureDatedError | null = null;
  if (age > request.ttl) problem = new ExpiredError(`version 1 request ${request.requestid} is ${age} s old, its ttl is ${request.ttl} s`);
  else if (-age > skew) problem = new FutureDatedError(`version 1 request ${request.requestid} is dated ${-age} s in the future (clock_skew ${skew} s)`);
  if (problem === null) return;
  if (enforce) throw problem;
  warnings.push(`${problem.message} (accepted: enforce_ttl = 0)`);
}

function innerMessage(inner: RubyValue, outer: { ttl: number; msgtime: number }, enforce: boolean, warnings: string[]): { body: RubyValue; ttl: number; msgtime: number } {
  if (!(inner instanceof RubyHash) || inner.size !== 3 || !inner.has(new RubySymbol('aes_msg'))) {
    throw new MalformedMessageError(`version 1 request: the encrypted part must be {:aes_msg, :aes_ttl, :aes_msgtime}, got ${describe(inner)}`);
  }
  const checked = { body: inner.getSym('aes_msg')!, ttl: outer.ttl, msgtime: outer.msgtime };
  for (const [secure, clear, label] of [['aes_ttl', 'ttl', 'ttl'], ['aes_msgtime', 'msgtime', 'msgtime']] as const) {
    const value = inner.getSym(secure);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new MalformedMessageError(`version 1 request: encrypted :${secure} is ${describe(value)}, not an Integer`);
    if (value === outer[clear]) continue;
    const message = `version 1 request: :${clear} ${outer[clear]} does not match the encrypted ${label} ${value} (tampering)`;
    if (enforce) throw new BadSignatureError(message);
    warnings.push(`${message} (accepted: enforce_ttl = 0)`);
    checked[clear] = value;
  }
  return checked;
}

/**
 * Decodes a request as a Ruby server would (aes_security.rb decodemsg), refusing more: the outer hash is parsed
 * within limits and fully type-checked; the caller's key must open `:sslkey` (BadSignatureError); the encrypted ttl
 * and msgtime must equal the clear ones; expired (ExpiredError) and future-dated (FutureDatedError) requests are
 * refused unless `enforceTtl` is false. Replay checks are the caller's (it holds the cache).
 */
export function decodeV1Request(bytes: Uint8Array, options: DecodeV1RequestOptions): V1DecodedRequest {
  const serializer = detect(bytes, 'request');
  const limits = options.limits ?? DEFAULT_V1_LIMITS;
  const enforce = options.enforceTtl ?? true;
  const where = 'version 1 request';
  const fields = outerFields(deserializeV1(bytes, serializer, limits), 'request');
  const callerid = nameField(fields, 'callerid', 'callerid', where);
  const request: V1DecodedRequest = {
    serializer,
    requestid: nameField(fields, 'requestid', 'requestid', where),
    senderid: nameField(fields, 'senderid', 'identity', where),
    callerid,
    agent: nameField(fields, 'agent', 'agent', where),
    collective: nameField(fields, 'collective', 'collective', where),
    filter: parseFilter(fields.get('filter')),
    ttl: integerField(fields, 'ttl', 1, MAX_TTL, where),
    msgtime: integerField(fields, 'msgtime', 0, MAX_MSGTIME, where),
    body: null,
    senderProof: 'none',
    warnings: [],
    replayId: '',
  };
  const sslpubkey = pubkeyField(fields, where);
  if (sslpubkey !== undefined) request.sslpubkey = sslpubkey;
  const ciphertext = base64Field(fields, 'body', where);
  const wrapped = base64Field(fields, 'sslkey', where);
  const nowSeconds = seconds(options.now ?? Date.now);
  const skew = options.clockSkewSeconds ?? 5;
  // Cheap refusal on the clear values first; they are proven equal to the encrypted ones below.
  if (enforce) freshness(request, nowSeconds, skew, true, request.warnings);

  const name = nameFromCallerid(callerid)!;
  const key = options.resolveCallerKey(name, sslpubkey, request.senderid);
  if (key === null) throw new UnknownSenderError(`${where} from ${callerid}: no public key for ${name}`);
  const pass = unwrapRequestPass(key, wrapped, callerid);
  options.precheck?.({ requestid: request.requestid, callerid, senderid: request.senderid, agent: request.agent, collective: request.collective, payloadBytes: ciphertext.length });

  const plaintext = aesDecrypt(pass, ciphertext);
  pass.fill(0);
  if (plaintext === null) throw new BadSignatureError(`${where} ${request.requestid}: :body does not decrypt with the pass ${callerid} sent (altered)`);
  const inner = innerMessage(deserializeV1(plaintext, serializer, limits), request, enforce, request.warnings);
  request.body = inner.body;
  request.ttl = inner.ttl;
  request.msgtime = inner.msgtime;
  if (!enforce && options.freshnessWarnings !== false) freshness(request, nowSeconds, skew, false, request.warnings);
  request.replayId = createHash('sha256').update(wrapped).digest('hex');
  return request;
}

// ---- replies ----------------------------------------------------------------------------------------------------

/** What a version 1 reply carries, before encoding. */
export interface V1ReplyFields {
  requestid: string;
  senderid: string;
  senderagent: string;
  /** Epoch seconds; taken from the clock when absent. */
  msgtime?: number;
  /** An RPC reply Hash (rpc-body.ts) or discovery's "pong". */
  body: RubyValue;
}

/** How to encode a reply. */
export interface EncodeV1ReplyOptions {
  /** The public key of the request's caller. */
  callerPublicKey: KeyObject;
  /** The request's serializer: a Ruby client reads only its own. */
  serializer: V1Serializer;
  now?: () => number;
}

/** Encodes a reply as a Ruby server would (aes_security.rb encodereply). */
export function encodeV1Reply(fields: V1ReplyFields, options: EncodeV1ReplyOptions): Buffer {
  checkName('requestid', 'requestid', fields.requestid);
  checkName('identity', 'senderid', fields.senderid);
  checkName('agent', 'senderagent', fields.senderagent);
  const pass = randomPass();
  const ciphertext = aesEncrypt(pass, serializeV1(fields.body, options.serializer));
  const outer = symHash({
    senderid: fields.senderid,
    requestid: fields.requestid,
    senderagent: fields.senderagent,
    msgtime: fields.msgtime ?? seconds(options.now ?? Date.now),
    body: encode64(ciphertext),
    sslkey: encode64(wrapReplyPass(options.callerPublicKey, pass)),
  });
  pass.fill(0);
  return serializeV1(outer, options.serializer);
}

/** How to decode a reply. */
export interface DecodeV1ReplyOptions {
  /** The client's private key, or the key of the request `requestid` (a sender that keeps one per request). */
  clientPrivateKey: KeyObject | ((requestid: string) => KeyObject);
  /** Whether this client sent `requestid` and still waits for replies; others are refused before any RSA work. */
  isOutstanding(requestid: string): boolean;
  limits?: V1Limits;
}

/** A decoded version 1 reply. Nothing in it is authenticated: senderProof is always `unsigned`. */
export interface V1DecodedReply {
  serializer: V1Serializer;
  requestid: string;
  senderid: string;
  senderagent: string;
  msgtime: number;
  body: RubyValue;
  senderProof: 'unsigned';
}

/**
 * Decodes a reply as a Ruby client would (client.rb, aes_security.rb decodemsg): only for an outstanding request
 * (NotAddressedToUsError otherwise), the pass recovered with the client's key, the body decrypted. Every failure to
 * open the body is the same BadSignatureError, whether the key block or the body was bad (see crypto.ts).
 */
export function decodeV1Reply(bytes: Uint8Array, options: DecodeV1ReplyOptions): V1DecodedReply {
  const serializer = detect(bytes, 'reply');
  const limits = options.limits ?? DEFAULT_V1_LIMITS;
  const where = 'version 1 reply';
  const fields = outerFields(deserializeV1(bytes, serializer, limits), 'reply');
  const requestid = nameField(fields, 'requestid', 'requestid', where);
  if (!options.isOutstanding(requestid)) throw new NotAddressedToUsError(`${where} answers request ${requestid}, which this client is not waiting for`);
  const reply: V1DecodedReply = {
    serializer,
    requestid,
    senderid: nameField(fields, 'senderid', 'identity', where),
    senderagent: nameField(fields, 'senderagent', 'agent', where),
    msgtime: integerField(fields, 'msgtime', 0, MAX_MSGTIME, where),
    body: null,
    senderProof: 'unsigned',
  };
  const ciphertext = base64Field(fields, 'body', where);
  const privateKey = typeof options.clientPrivateKey === 'function' ? options.clientPrivateKey(requestid) : options.clientPrivateKey;
  const pass = unwrapReplyPass(privateKey, base64Field(fields, 'sslkey', where));
  const plaintext = aesDecrypt(pass, ciphertext);
  pass.fill(0);
  // One error for a bad key block, a bad body and an unreadable plaintext alike: which one it was must not be
  // observable (a wrong pass yields random bytes, whose padding is valid one time in 256).
  const unopened = (): BadSignatureError => new BadSignatureError(`${where} to ${requestid} from ${reply.senderid}: cannot be opened with our key (not for us, or altered)`);
  if (plaintext === null) throw unopened();
  try {
    reply.body = deserializeV1(plaintext, serializer, limits);
  } catch {
    throw unopened();
  }
  return reply;
}
