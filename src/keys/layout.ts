/**
 * The key file layout, in one place for the security provider, the key library and `tsco keys` (docs/keys.md):
 *
 * - `<dir>/<name>.pem`: the public keys of `name`, one or more PEM blocks (public keys and/or certificates). Each
 *   is a valid key for the name, told apart by its key id; the first is the newest. A one-block file is exactly
 *   MCollective's.
 * - `<dir>/<name>-private.pem`: the private key that signs (mode 0600); `<dir>/<name>-private.<kid>.pem`: a private
 *   key kept after a rotation, until its key is retired.
 * - `<dir>/.<name>.learned.json`: the record of the keys of `<name>.pem` the provider learned from the network;
 *   any other key in the file was installed.
 * - `<dir>/.<name>.pem.revoked-<time>`: a learned file whose every key was revoked, moved aside.
 */
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { isName } from '../names.js';
import { TAG, childrenOf, encodingOf, expectTlv, integerHex } from './der.js';
import { readSpki, spkiOfRsaPublicKey, type SpkiFacts } from './key-types.js';

/** Most PEM blocks one public key file may hold (rotation overlaps rarely need more than two or three). */
export const MAX_KEYS_PER_FILE = 16;

/** `<dir>/<name>.pem`, or null when `name` is not a key name or the path would leave `dir`. */
export function publicKeyPath(dir: string, name: string): string | null {
  if (!isName('keyName', name)) return null;
  const root = resolve(dir);
  // A key name has no separator and cannot be "." or "..": the check guards that rule itself.
  const path = `${root === sep ? '' : root}${sep}${name}.pem`;
  return dirname(path) === root ? path : null;
}

/** `<dir>/<name>-private.pem`. */
export function privateKeyPath(dir: string, name: string): string {
  return join(dir, `${name}-private.pem`);
}

/** `<dir>/<name>-private.<kid>.pem`: a private key kept after a rotation. */
export function keptPrivateKeyPath(dir: string, name: string, kid: string): string {
  return join(dir, `${name}-private.${kid}.pem`);
}

/** `<dir>/.<name>.learned.json`: which keys of `<name>.pem` were learned. */
export function learnedRecordPath(dir: string, name: string): string {
  return join(dir, `.${name}.learned.json`);
}

/** `<dir>/.<name>.pem.revoked-<time>`: where a learned file of revoked keys is moved. */
export function setAsidePath(dir: string, name: string, at: Date): string {
  return join(dir, `.${name}.pem.revoked-${at.toISOString().replace(/[:.]/g, '')}`);
}

/** The MCollective name of a key file without a certificate: its basename without `.pem`. */
export function nameFromKeyPath(path: string): string {
  return basename(path).replace(/\.pem$/, '');
}

/** One key a learned-key record lists. */
export interface LearnedKey {
  kid: string;
  learnedAt: string;
  /** The identity of the message the key came with. */
  senderid: string;
  verifiedBy: 'ca' | 'insecure_learning';
}

/** The sidecar `.<name>.learned.json`: the learned keys of `<name>.pem`. */
export interface LearnedRecord {
  name: string;
  keys: LearnedKey[];
}

/** Parses a learned-key record; the one-key form of earlier versions (`{name, kid, learnedAt, ...}`) is read too. */
export function parseLearnedRecord(text: string): LearnedRecord {
  const value = JSON.parse(text) as Partial<LearnedRecord> & Partial<LearnedKey>;
  if (typeof value !== 'object' || value === null || typeof value.name !== 'string') throw new InvalidArgumentError('learned-key record: not a {name, keys} object');
  if (Array.isArray(value.keys)) return { name: value.name, keys: value.keys.filter((key) => typeof key?.kid === 'string') };
  if (typeof value.kid === 'string') {
    return { name: value.name, keys: [{ kid: value.kid, learnedAt: String(value.learnedAt ?? ''), senderid: String(value.senderid ?? ''), verifiedBy: value.verifiedBy === 'ca' ? 'ca' : 'insecure_learning' }] };
  }
  return { name: value.name, keys: [] };
}

/** The text of a learned-key record. */
export function formatLearnedRecord(record: LearnedRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** One PEM block of a public key file. */
export interface PemBlock {
  /** `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`. */
  readonly label: string;
  /** The block's text, BEGIN and END lines included, with a final newline. */
  readonly text: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;
const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE']);

/**
 * Splits PEM text into its public key and certificate blocks (text between blocks is ignored, as OpenSSL does).
 * Refuses private keys, other block types, and more than `max` blocks (bounded before anything is decoded).
 */
export function splitPemBlocks(text: string, max = MAX_KEYS_PER_FILE): PemBlock[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new InvalidArgumentError('this is a PRIVATE key; public key files hold public keys and certificates only');
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1]!;
    if (!PUBLIC_LABELS.has(label)) throw new InvalidArgumentError(`a "${label}" PEM block; expected PUBLIC KEY or CERTIFICATE blocks`);
    if (blocks.length >= max) throw new InvalidArgumentError(`more than ${max} PEM blocks; at most ${max} keys per name`);
    // Node's base64 decoder skips the line breaks itself: no copy of the body without them is needed.
    const der = Buffer.from(match[2]!, 'base64');
    const text = match[0].includes('\r') ? match[0].replace(/\r\n/g, '\n') : match[0];
    blocks.push({ label, text: `${text}\n`, der });
  }
  if (blocks.length === 0) throw new InvalidArgumentError('no PEM public key or certificate block (-----BEGIN PUBLIC KEY----- or CERTIFICATE)');
  return blocks;
}

/** A PEM block read as a key: its SPKI facts, and for a certificate its serial number. */
export interface BlockKey {
  readonly facts: SpkiFacts;
  /** Certificate serial number, lower-case hex without leading zeros; undefined for a bare key. */
  readonly serial: string | undefined;
}

/** Reads the key of one PEM block without parsing more than the DER it needs. Throws InvalidArgumentError. */
export function readBlockKey(block: PemBlock): BlockKey {
  if (block.label === 'PUBLIC KEY') return { facts: readSpki(block.der), serial: undefined };
  if (block.label === 'RSA PUBLIC KEY') return { facts: readSpki(spkiOfRsaPublicKey(block.der)), serial: undefined };
  return readCertificateKey(block.der);
}

/** The serial number and SubjectPublicKeyInfo of a DER certificate. */
function readCertificateKey(der: Uint8Array): BlockKey {
  const certificate = expectTlv(der, 0, TAG.sequence, 'Certificate');
  if (certificate.end !== der.length) throw new InvalidArgumentError('DER: trailing bytes after the certificate');
  const [tbs] = childrenOf(der, certificate, 3);
  if (!tbs || tbs.tag !== TAG.sequence) throw new InvalidArgumentError('DER: not a certificate');
  const fields = childrenOf(der, tbs, 16);
  // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
  const first = fields[0]?.tag === TAG.context0 ? 1 : 0;
  const serial = fields[first];
  const spki = fields[first + 5];
  if (!serial || !spki || spki.tag !== TAG.sequence) throw new InvalidArgumentError('DER: certificate fields are not in the X.509 order');
  return { facts: readSpki(encodingOf(der, spki)), serial: integerHex(der, serial) };
}
