/**
 * Public keys as the provider holds them: one `PublicKeyEntry` per PEM block of a `<name>.pem` file (a key set),
 * identified by its key id. Reading an entry costs a base64 decode, a few DER reads and one SHA-256 (the key id is
 * hashed from the PEM's own DER bytes, never re-exported); the KeyObject is imported on first use by the cheapest
 * route (src/keys/key-types.ts), and a certificate is parsed by node's X509Certificate only when something needs
 * its names or validity (a CA check, a certificate proof of identity).
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { KeyFileError } from '../../../../src/errors.js';
import { importSpki, type KeyType, type SpkiFacts } from '../../../../src/keys/key-types.js';
import { readBlockKey, splitPemBlocks, type PemBlock } from '../../../../src/keys/layout.js';

/** One public key (bare or in a certificate) of a key set. */
export class PublicKeyEntry {
  /** Key id: the first 16 bytes of SHA-256 over the SubjectPublicKeyInfo DER, hex. */
  readonly kid: string;
  readonly type: KeyType;
  /** RSA modulus bits; 256 for P-256 and Ed25519. */
  readonly bits: number;
  /** The SubjectPublicKeyInfo DER (what the request sealing key is derived from). */
  readonly spki: Buffer;
  /** This block's PEM text, as sent with send_pubkey. */
  readonly pem: string;
  /** A certificate's serial number (lower-case hex, no leading zeros); undefined for a bare key. */
  readonly serial: string | undefined;
  private imported: KeyObject | undefined;
  private parsed: X509Certificate | undefined;
  private digest: string | undefined;
  /** The block's DER bytes (a certificate's, for its digest). */
  private readonly der: Buffer;

  constructor(private readonly facts: SpkiFacts, block: PemBlock, serial: string | undefined, private readonly source: string) {
    this.kid = facts.kid;
    this.type = facts.type;
    this.bits = facts.bits;
    this.spki = facts.spki;
    this.pem = block.text;
    this.serial = serial;
    this.der = block.der;
  }

  /** Whether this key came as an X.509 certificate. */
  get isCertificate(): boolean {
    return this.serial !== undefined;
  }

  /** The key, imported on first use. */
  get key(): KeyObject {
    this.imported ??= importSpki(this.facts);
    return this.imported;
  }

  /** SHA-256 of the block's DER (for a certificate, what the CA verdict cache is keyed by), hex, computed once. */
  get derDigest(): string {
    this.digest ??= createHash('sha256').update(this.der).digest('hex');
    return this.digest;
  }

  /** Whether `der` is exactly this block's DER (node's reading of the PEM matches ours). */
  hasDer(der: Uint8Array): boolean {
    return this.der.equals(der);
  }

  /** The certificate, parsed on first use; undefined for a bare key. Throws KeyFileError when node cannot parse it. */
  get certificate(): X509Certificate | undefined {
    if (this.serial === undefined) return undefined;
    if (!this.parsed) {
      try {
        this.parsed = new X509Certificate(this.pem);
      } catch (error) {
        throw new KeyFileError(`${this.source}: certificate ${this.kid} cannot be parsed (${(error as Error).message})`, { cause: error });
      }
    }
    return this.parsed;
  }
}

/** The keys of one `<name>.pem`, in file order (the first is the newest). */
export class KeySet {
  private readonly byKid = new Map<string, PublicKeyEntry>();

  constructor(readonly source: string, readonly entries: readonly PublicKeyEntry[]) {
    for (const entry of entries) if (!this.byKid.has(entry.kid)) this.byKid.set(entry.kid, entry);
  }

  /** The key with id `kid`, or undefined. */
  get(kid: string): PublicKeyEntry | undefined {
    return this.byKid.get(kid);
  }

  /** Every key id, in file order (for error messages). */
  kids(): string[] {
    return this.entries.map((entry) => entry.kid);
  }
}

/** Parses the PEM text of a public key file into a key set; throws KeyFileError naming `source` and the problem. */
export function parseKeySet(text: string, source: string): KeySet {
  let blocks: PemBlock[];
  try {
    blocks = splitPemBlocks(text);
  } catch (error) {
    throw new KeyFileError(`${source}: ${(error as Error).message}`, { cause: error });
  }
  return new KeySet(source, blocks.map((block, index) => entryOf(block, blocks.length > 1 ? `${source} (key ${index + 1})` : source)));
}

/** Parses a single public key or certificate (a key attached to a message): exactly one block. */
export function parseSingleKey(text: string, source: string): PublicKeyEntry {
  const set = parseKeySet(text, source);
  if (set.entries.length !== 1) throw new KeyFileError(`${source}: holds ${set.entries.length} keys; exactly one is expected`);
  return set.entries[0]!;
}

function entryOf(block: PemBlock, source: string): PublicKeyEntry {
  try {
    const { facts, serial } = readBlockKey(block);
    return new PublicKeyEntry(facts, block, serial, source);
  } catch (error) {
    throw new KeyFileError(`${source}: not a usable public key or certificate (${(error as Error).message})`, { cause: error });
  }
}

/** The CN of a certificate's subject, or null. */
export function commonNameOf(certificate: X509Certificate): string | null {
  // node prints one RDN per line ("C=GB\nCN=alice"); the last CN wins, as OpenSSL's lookup does.
  let cn: string | null = null;
  for (const line of certificate.subject.split('\n')) {
    if (line.startsWith('CN=')) cn = line.slice(3);
  }
  return cn;
}
