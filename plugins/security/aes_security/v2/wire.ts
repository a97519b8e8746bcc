/**
 * The aes_security wire format, version 2 (docs/protocol.md is the contract). A message is a binary frame of
 * version, kind, header, ciphertext and signature: the header is msgpack, carried as opaque bytes so that
 * exactly those bytes are signed and authenticated, with no canonicalisation step.
 * Parsing is strict: every field is type-checked and any deviation is a MalformedMessageError naming it.
 */
import type { Packr } from 'msgpackr';
import { MalformedMessageError } from '../../../../src/errors.js';
import { GCM_IV_BYTES, X25519_KEY_BYTES } from '../primitives.js';
import { isName, type NameKind } from '../../../../src/names.js';
import { msgpackr } from '../../../../src/util/lazy-require.js';

/** The protocol version this module writes and reads. Version 1 is reserved for MCollective-compatible messages. */
export const PROTOCOL_VERSION = 2;

/** Domain-separation labels: a request signature can never be taken for a reply signature, or vice versa. */
export const LABELS = {
  requestSignature: Buffer.from('tscollective/v2 request signature\0'),
  replySignature: Buffer.from('tscollective/v2 reply signature\0'),
  requestKey: Buffer.from('tscollective/v2 request key\0'),
  replyKey: Buffer.from('tscollective/v2 ephemeral reply key\0'),
} as const;

/** Message kinds. */
export type MessageKind = 'request' | 'reply';

/** A parsed envelope. `headerBytes` is what the signature and the AEAD cover. */
export interface Envelope {
  kind: MessageKind;
  headerBytes: Uint8Array;
  ciphertext: Uint8Array;
  signature: Uint8Array;
}

/** How a request asks to be answered. */
export type ReplyKeyMaterial = { mode: 'rsa' } | { mode: 'ephemeral'; pk: Uint8Array };

/** The signed clear-text header of a request. */
export interface RequestHeader {
  requestid: string;
  senderid: string;
  callerid: string;
  agent: string;
  collective: string;
  ttl: number;
  msgtime: number;
  /** Key id of the signing key (rotation: several keys per name may be valid). */
  kid: string;
  serializer: string;
  iv: Uint8Array;
  reply: ReplyKeyMaterial;
  /** send_pubkey: the signer's public key or certificate, PEM. */
  pubkey?: string;
}

/** The signed clear-text header of a reply. */
export type ReplyHeader = {
  requestid: string;
  senderid: string;
  senderagent: string;
  msgtime: number;
  /** `cert=<name>` of the server key that signed. */
  signer: string;
  kid: string;
  serializer: string;
  iv: Uint8Array;
  pubkey?: string;
} & ({ mode: 'rsa'; to: string; wrappedkey: Uint8Array } | { mode: 'ephemeral'; epk: Uint8Array });

let envelopePackr: Packr | undefined;
const packer = (): Packr => (envelopePackr ??= new (msgpackr().Packr)({ useRecords: false, moreTypes: false, mapsAsObjects: true, bundleStrings: false }));

/** msgpack encoding used for envelopes and headers. */
export function pack(value: unknown): Buffer {
  return packer().pack(value);
}

/** First bytes of every envelope: "TSC". */
const MAGIC = Buffer.from('TSC', 'latin1');
const KIND_BYTE: Record<MessageKind, number> = { request: 1, reply: 2 };
/** Fixed prefix: magic (3), version (1), kind (1). */
const PREFIX_BYTES = 5;
const MAX_SECTION_BYTES = 64 * 1024 * 1024;

/**
 * Serialises an envelope: `"TSC" | version u8 | kind u8 | u32 header length | header | u32 ciphertext length |
 * ciphertext | u16 signature length | signature`, all lengths big-endian. A fixed binary frame rather than a
 * msgpack array: it is parsed with a few reads instead of a second msgpack pass per message.
 */
export function encodeEnvelope(kind: MessageKind, headerBytes: Uint8Array, ciphertext: Uint8Array, signature: Uint8Array): Buffer {
  const total = PREFIX_BYTES + 4 + headerBytes.length + 4 + ciphertext.length + 2 + signature.length;
  const out = Buffer.allocUnsafe(total);
  MAGIC.copy(out, 0);
  out[3] = PROTOCOL_VERSION;
  out[4] = KIND_BYTE[kind];
  let offset = PREFIX_BYTES;
  offset = out.writeUInt32BE(headerBytes.length, offset);
  out.set(headerBytes, offset);
  offset += headerBytes.length;
  offset = out.writeUInt32BE(ciphertext.length, offset);
  out.set(ciphertext, offset);
  offset += ciphertext.length;
  offset = out.writeUInt16BE(signature.length, offset);
  out.set(signature, offset);
  return out;
}

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return packer().unpack(bytes);
  } catch (error) {
    throw new MalformedMessageError(`${what} is not valid msgpack (${(error as Error).message})`, { cause: error });
  }
}

/** Parses an envelope and checks it is of `expected` kind. Sections are views into `wire`, not copies. */
export function decodeEnvelope(wire: Uint8Array, expected: MessageKind): Envelope {
  if (!(wire instanceof Uint8Array)) throw new MalformedMessageError(`message expected bytes, got ${typeof wire}`);
  if (wire.length === 0) throw new MalformedMessageError('message is empty');
  const bytes = Buffer.from(wire.buffer, wire.byteOffset, wire.length);
  if (bytes.length < PREFIX_BYTES || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2]) {
    const hint = bytes[0] === 0x04 || bytes[0] === 0x2d ? ' (it looks like an MCollective Marshal/YAML message: legacy protocol version 1 is not enabled)' : '';
    throw new MalformedMessageError(`message is not a tscollective envelope (first byte 0x${bytes[0]!.toString(16).padStart(2, '0')})${hint}`);
  }
  if (bytes[3] !== PROTOCOL_VERSION) throw new MalformedMessageError(`unsupported protocol version ${bytes[3]}; supported: ${PROTOCOL_VERSION}`);
  if (bytes[4] !== KIND_BYTE[expected]) {
    throw new MalformedMessageError(`expected a ${expected} envelope, got kind ${bytes[4]}`);
  }
  let offset = PREFIX_BYTES;
  const section = (name: string, lengthBytes: 2 | 4): Uint8Array => {
    if (offset + lengthBytes > bytes.length) throw new MalformedMessageError(`envelope truncated before the ${name} length`);
    const length = lengthBytes === 4 ? bytes.readUInt32BE(offset) : bytes.readUInt16BE(offset);
    offset += lengthBytes;
    if (length > MAX_SECTION_BYTES || offset + length > bytes.length) {
      throw new MalformedMessageError(`envelope ${name} claims ${length} bytes, but ${bytes.length - offset} remain`);
    }
    const view = bytes.subarray(offset, offset + length);
    offset += length;
    return view;
  };
  const headerBytes = section('header', 4);
  const ciphertext = section('ciphertext', 4);
  const signature = section('signature', 2);
  if (offset !== bytes.length) throw new MalformedMessageError(`envelope has ${bytes.length - offset} trailing bytes`);
  return { kind: expected, headerBytes, ciphertext, signature };
}

type Fields = Record<string, unknown>;

function field<T>(fields: Fields, name: string, check: (v: unknown) => v is T, expected: string, where: string): T {
  const value = fields[name];
  if (!check(value)) throw new MalformedMessageError(`${where} field ${name}: expected ${expected}, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

const isString = (max: number, pattern?: RegExp) => (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && (pattern === undefined || pattern.test(v));
const isNamed = (kind: NameKind) => (v: unknown): v is string => isName(kind, v);
const isBytes = (length?: number) => (v: unknown): v is Uint8Array =>
  v instanceof Uint8Array && (length === undefined || v.length === length);
const isInt = (min: number, max: number) => (v: unknown): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isMap = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

const MAX_TTL = 86400 * 7;
// Validators are built once: header parsing runs for every message.
const V = {
  requestid: isNamed('requestid'),
  identity: isNamed('identity'),
  callerid: isNamed('callerid'),
  agent: isNamed('agent'),
  collective: isNamed('collective'),
  kid: isNamed('kid'),
  serializer: isString(16),
  pem: isString(16384, /-----BEGIN /),
  iv: isBytes(GCM_IV_BYTES),
  x25519: isBytes(X25519_KEY_BYTES),
  bytes: isBytes(),
  ttl: isInt(1, MAX_TTL),
  msgtime: isInt(0, 2 ** 40),
} as const;

function headerFields(bytes: Uint8Array, what: string): Fields {
  const fields = unpack(bytes, `${what} header`);
  if (!isMap(fields)) throw new MalformedMessageError(`${what} header must be a map`);
  return fields;
}

/** Parses and type-checks a request header. */
export function parseRequestHeader(bytes: Uint8Array): RequestHeader {
  const f = headerFields(bytes, 'request');
  const w = 'request header';
  const reply = field(f, 'reply', isMap, 'a map', w);
  let material: ReplyKeyMaterial;
  if (reply.mode === 'rsa') material = { mode: 'rsa' };
  else if (reply.mode === 'ephemeral') material = { mode: 'ephemeral', pk: field(reply, 'pk', V.x25519, `${X25519_KEY_BYTES} bytes`, `${w} reply`) };
  else throw new MalformedMessageError(`${w} field reply.mode: expected "rsa" or "ephemeral", got ${describe(reply.mode)}`);
  const header: RequestHeader = {
    requestid: field(f, 'requestid', V.requestid, '32 lower-case hex characters', w),
    senderid: field(f, 'senderid', V.identity, 'an identity ([\\w.-]+)', w),
    callerid: field(f, 'callerid', V.callerid, 'cert=<name>', w),
    agent: field(f, 'agent', V.agent, 'an agent name', w),
    collective: field(f, 'collective', V.collective, 'a collective name', w),
    ttl: field(f, 'ttl', V.ttl, `an integer 1..${MAX_TTL}`, w),
    msgtime: field(f, 'msgtime', V.msgtime, 'epoch seconds', w),
    kid: field(f, 'kid', V.kid, 'a 32-hex-character key id', w),
    serializer: field(f, 'serializer', V.serializer, 'a serializer name', w),
    iv: field(f, 'iv', V.iv, `${GCM_IV_BYTES} bytes`, w),
    reply: material,
  };
  if (f.pubkey !== undefined) header.pubkey = field(f, 'pubkey', V.pem, 'a PEM public key or certificate', w);
  return header;
}

/** Parses and type-checks a reply header. */
export function parseReplyHeader(bytes: Uint8Array): ReplyHeader {
  const f = headerFields(bytes, 'reply');
  const w = 'reply header';
  let header: ReplyHeader;
  if (f.mode === 'rsa') {
    header = {
      mode: 'rsa',
      to: field(f, 'to', V.kid, 'a 32-hex-character key id', w),
      wrappedkey: field(f, 'wrappedkey', V.bytes, 'bytes', w),
    } as ReplyHeader;
  } else if (f.mode === 'ephemeral') {
    header = { mode: 'ephemeral', epk: field(f, 'epk', V.x25519, `${X25519_KEY_BYTES} bytes`, w) } as ReplyHeader;
  } else {
    throw new MalformedMessageError(`${w} field mode: expected "rsa" or "ephemeral", got ${describe(f.mode)}`);
  }
  header.requestid = field(f, 'requestid', V.requestid, '32 lower-case hex characters', w);
  header.senderid = field(f, 'senderid', V.identity, 'an identity ([\\w.-]+)', w);
  header.senderagent = field(f, 'senderagent', V.agent, 'an agent name', w);
  header.msgtime = field(f, 'msgtime', V.msgtime, 'epoch seconds', w);
  header.signer = field(f, 'signer', V.callerid, 'cert=<name>', w);
  header.kid = field(f, 'kid', V.kid, 'a 32-hex-character key id', w);
  header.serializer = field(f, 'serializer', V.serializer, 'a serializer name', w);
  header.iv = field(f, 'iv', V.iv, `${GCM_IV_BYTES} bytes`, w);
  if (f.pubkey !== undefined) header.pubkey = field(f, 'pubkey', V.pem, 'a PEM public key or certificate', w);
  return header;
}
