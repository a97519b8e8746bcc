/**
 * What the fuzzer needs from a codec: valid messages per side, a way to decode one, and (optionally) a way
 * to split a message into named header fields and raw sections and put it back together, for the
 * structure-aware mutations. A new codec (for example the legacy protocol version 1) is one more
 * `FuzzTarget` registered in fuzz/targets/index.ts.
 */

/** The two directions of the protocol. */
export type Side = 'request' | 'reply';

/** Both sides, in the order they are fuzzed. */
export const SIDES: readonly Side[] = ['request', 'reply'];

/** One valid message and the decoder that accepts it. */
export interface Seed {
  /** A short label for reports, for example `rsa reply, msgpack`. */
  label: string;
  wire: Uint8Array;
  /** Decodes a (mutated) message the way this seed's receiver would; throws when it refuses. */
  decode(wire: Uint8Array): unknown;
}

/** A message taken apart: its header fields (decoded) and its raw sections, in wire order. */
export interface Dissected {
  /** The decoded header fields (a fresh object the caller may change). */
  fields: Record<string, unknown>;
  /** The raw sections, for example [header, ciphertext, signature]. */
  sections: Uint8Array[];
  /** The fixed prefix bytes before the first section (magic, version, kind). */
  prefix: Uint8Array;
}

/** The codec-specific parts of a side. */
export interface SideTarget {
  /** Valid messages of this side (at least one). */
  seeds: readonly Seed[];
  /** Takes a message apart; null when it is not well-formed enough to. */
  dissect(wire: Uint8Array): Dissected | null;
  /** Encodes header fields into header bytes (the inverse of the header part of `dissect`). */
  encodeFields(fields: Record<string, unknown>): Uint8Array;
  /** Frames a prefix and sections into a message, writing each section's length as the codec does. */
  frame(prefix: Uint8Array, sections: readonly Uint8Array[]): Uint8Array;
  /** Byte offsets of the length fields `frame` writes, with their widths, for a message built by `frame`. */
  lengthFields(prefix: Uint8Array, sections: readonly Uint8Array[]): Array<{ offset: number; bytes: 2 | 4 }>;
  /**
   * false for a side whose messages the protocol does not authenticate (protocol version 1 replies: anyone holding
   * the client's public key can write one): a mutant that decodes is counted as `unauthenticated`, not as a forgery.
   */
  authenticates?: boolean;
}

/** A codec under test. */
export interface FuzzTarget {
  /** Shown in reports, for example `aes_security v2`. */
  name: string;
  /** The sides this codec has. */
  sides: Partial<Record<Side, SideTarget>>;
  /** Removes whatever the target created (temporary keys). */
  close(): void;
}

/** Builds a target; `workDir` is an empty directory it may use for keys. */
export type TargetFactory = (workDir: string) => Promise<FuzzTarget>;
