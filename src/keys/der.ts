/**
 * A minimal DER reader for the few fixed structures the key code needs on its hot path: a SubjectPublicKeyInfo
 * (key type, size, the key's raw material), a certificate's serial number and SubjectPublicKeyInfo, and a CRL's
 * signed part and signature. Full X.509 parsing stays with node's X509Certificate and @peculiar/x509; this reads
 * only definite-length DER with lengths up to 4 bytes, bounded by the buffer it is given.
 */
import { InvalidArgumentError } from '../errors.js';

/** DER tags used here. */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  /** `[0] EXPLICIT` (a certificate's version). */
  context0: 0xa0,
} as const;

/** One DER element: its tag and where its content lies in the buffer. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** Reads the element starting at `offset`, which must end by `limit`. Throws InvalidArgumentError on bad DER. */
export function readTlv(bytes: Uint8Array, offset: number, limit = bytes.length): Tlv {
  if (offset + 2 > limit) throw new InvalidArgumentError(`DER: element truncated at offset ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new InvalidArgumentError(`DER: multi-byte tag at offset ${offset}`);
  let length = bytes[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new InvalidArgumentError(`DER: unsupported length form at offset ${offset}`);
    if (contentStart + count > limit) throw new InvalidArgumentError(`DER: length truncated at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[contentStart + i]!;
    contentStart += count;
    if (length < 0x80 || (count > 1 && bytes[offset + 2] === 0)) throw new InvalidArgumentError(`DER: non-minimal length at offset ${offset}`);
  }
  const end = contentStart + length;
  if (end > limit) throw new InvalidArgumentError(`DER: element at offset ${offset} claims ${length} bytes, ${limit - contentStart} remain`);
  return { tag, start: offset, contentStart, end };
}

/** Reads an element and checks its tag. */
export function expectTlv(bytes: Uint8Array, offset: number, tag: number, what: string, limit = bytes.length): Tlv {
  const tlv = readTlv(bytes, offset, limit);
  if (tlv.tag !== tag) throw new InvalidArgumentError(`DER: ${what} expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The children of a constructed element, in order. */
export function childrenOf(bytes: Uint8Array, parent: Tlv, max = 64): Tlv[] {
  const children: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    if (children.length >= max) throw new InvalidArgumentError(`DER: more than ${max} elements in a sequence`);
    const child = readTlv(bytes, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The content bytes of an element (a view, not a copy). */
export function contentOf(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.contentStart, tlv.end);
}

/** The whole encoding of an element, tag and length included (a view). */
export function encodingOf(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.start, tlv.end);
}

/** The bytes of a BIT STRING with no unused bits (keys and signatures always are whole bytes). */
export function bitStringBytes(bytes: Uint8Array, tlv: Tlv, what: string): Uint8Array {
  if (tlv.tag !== TAG.bitString) throw new InvalidArgumentError(`DER: ${what} is not a BIT STRING`);
  const content = contentOf(bytes, tlv);
  if (content.length < 1 || content[0] !== 0) throw new InvalidArgumentError(`DER: ${what} has unused bits`);
  return content.subarray(1);
}

/** An INTEGER's value as lower-case hex without leading zeros ("0" for zero): how serial numbers are compared. */
export function integerHex(bytes: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== TAG.integer) throw new InvalidArgumentError('DER: expected an INTEGER');
  return normalizeHex(Buffer.from(contentOf(bytes, tlv)).toString('hex'));
}

/** Hex text as lower case without leading zeros ("0" for zero), so `00AB` and `ab` compare equal. */
export function normalizeHex(hex: string): string {
  const trimmed = hex.toLowerCase().replace(/^0+/, '');
  return trimmed === '' ? '0' : trimmed;
}

/** DER encoding of `content` under `tag`. */
export function encodeTlv(tag: number, content: Uint8Array): Buffer {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else if (length < 0x10000) header = [tag, 0x82, length >> 8, length & 0xff];
  else header = [tag, 0x83, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
  return Buffer.concat([Buffer.from(header), content]);
}
