/**
 * A structural pre-scan of msgpack: walks the type bytes once, without decoding or allocating anything per value,
 * and counts values and nesting. Declared lengths are checked against the bytes that remain before they are
 * believed, so a 5-byte header announcing four billion entries costs five bytes of work, not four billion.
 * The scan stops at the first limit passed: refusing a huge document costs no more than reading up to the limit.
 */
import type { StructureLimits, StructureVerdict } from './serializer.js';

const limit = (reason: string): StructureVerdict => ({ ok: false, kind: 'limit', reason });
const malformed = (reason: string): StructureVerdict => ({ ok: false, kind: 'malformed', reason });

/** Bytes to skip after the type byte, for types whose size the type byte alone fixes (-1: not such a type). */
const FIXED_SIZES: Int8Array = (() => {
  const sizes = new Int8Array(256).fill(-1);
  for (let b = 0x00; b <= 0x7f; b++) sizes[b] = 0; // positive fixint
  for (let b = 0xe0; b <= 0xff; b++) sizes[b] = 0; // negative fixint
  for (let b = 0xa0; b <= 0xbf; b++) sizes[b] = b & 0x1f; // fixstr
  const fixed: Array<[number, number]> = [
    [0xc0, 0], [0xc2, 0], [0xc3, 0], // nil, false, true
    [0xca, 4], [0xcb, 8], // float 32, 64
    [0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8], // (u)int 8..64
    [0xd4, 2], [0xd5, 3], [0xd6, 5], [0xd7, 9], [0xd8, 17], // fixext 1..16 (type byte + data)
  ];
  for (const [type, size] of fixed) sizes[type] = size;
  return sizes;
})();

/** Bytes of the length field of variable-size types: str/bin/ext 8, 16, 32; array and map 16, 32. */
const LENGTH_BYTES: Int8Array = (() => {
  const sizes = new Int8Array(256);
  const entries: Array<[number, number]> = [
    [0xc4, 1], [0xc5, 2], [0xc6, 4], // bin
    [0xc7, 1], [0xc8, 2], [0xc9, 4], // ext
    [0xd9, 1], [0xda, 2], [0xdb, 4], // str
    [0xdc, 2], [0xdd, 4], // array
    [0xde, 2], [0xdf, 4], // map
  ];
  for (const [type, size] of entries) sizes[type] = size;
  return sizes;
})();

/** Counts values and nesting of one msgpack document in `bytes`, within `limits`. */
export function scanMsgpack(bytes: Uint8Array, limits: StructureLimits): StructureVerdict {
  const length = bytes.length;
  if (length === 0) return malformed('msgpack: empty document');
  /** Values still expected by each open container, innermost last. */
  const open: number[] = [];
  let pos = 0;
  let items = 0;
  let deepest = 0;
  const read = (size: 1 | 2 | 4): number => {
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + bytes[pos + i]!;
    pos += size;
    return value;
  };
  for (;;) {
    if (pos >= length) return malformed(`msgpack: truncated: a value is missing at byte ${pos}`);
    if (++items > limits.maxItems) return limit(`msgpack: more than ${limits.maxItems} values`);
    const type = bytes[pos++]!;
    let skip = FIXED_SIZES[type]!;
    let children = -1;
    if (skip < 0) {
      const lengthBytes = (type >= 0xc4 && type <= 0xc9) || (type >= 0xd9 && type <= 0xdf) ? LENGTH_BYTES[type]! : 0;
      if (lengthBytes > length - pos) return malformed(`msgpack: truncated inside the length of a value at byte ${pos - 1}`);
      if (type >= 0x80 && type <= 0x8f) children = (type & 0x0f) * 2;
      else if (type >= 0x90 && type <= 0x9f) children = type & 0x0f;
      else if (type === 0xdc || type === 0xdd) children = read(lengthBytes as 2 | 4);
      else if (type === 0xde || type === 0xdf) children = read(lengthBytes as 2 | 4) * 2;
      else if (type >= 0xc7 && type <= 0xc9) skip = read(lengthBytes as 1 | 2 | 4) + 1; // ext: data + its type byte
      else if (lengthBytes > 0) skip = read(lengthBytes as 1 | 2 | 4); // str, bin
      else return malformed(`msgpack: byte 0x${type.toString(16)} at ${pos - 1} is not a msgpack type`);
    }
    if (children >= 0) {
      const depth = open.length + 1;
      if (depth > limits.maxDepth) return limit(`msgpack: nested deeper than ${limits.maxDepth} levels`);
      if (depth > deepest) deepest = depth;
      if (children > 0) {
        // Every declared value is at least one more item and one more byte: check before believing the count.
        if (items + children > limits.maxItems) return limit(`msgpack: a container at byte ${pos} declares ${children} values; more than ${limits.maxItems} in all`);
        if (children > length - pos) return malformed(`msgpack: a container declares ${children} values but only ${length - pos} bytes remain`);
        open.push(children);
        continue;
      }
    } else {
      if (skip > length - pos) return malformed(`msgpack: a value at byte ${pos} declares ${skip} bytes but only ${length - pos} remain`);
      pos += skip;
    }
    // A value is complete: close every container it completes.
    while (open.length > 0 && --open[open.length - 1]! === 0) open.pop();
    if (open.length === 0) break;
  }
  if (pos !== length) return malformed(`msgpack: ${length - pos} bytes follow the document`);
  return { ok: true, items, depth: deepest };
}
