/**
 * The serializer contract: how message bodies become bytes and back.
 * The security provider calls `serialize`/`deserialize` once per message, so both are on the hot path.
 */

/**
 * A data format for message bodies.
 *
 * Both implementations accept and produce the same value model: `null`, booleans, numbers
 * (including NaN and ±Infinity), strings, arrays, plain objects with string keys, `Uint8Array`
 * (binary; a `Buffer` is accepted and comes back as a plain `Uint8Array`) and valid `Date`s
 * (timestamps, millisecond precision). Object properties whose value is `undefined` are omitted,
 * as JSON does; anything else (functions, symbols, bigints, class instances, Maps, Sets,
 * `undefined` inside an array or at the root, circular references, a `__proto__` key) is refused
 * with a SerializationError naming the path of the bad value.
 */
export interface Serializer {
  /** The name used in configuration (`yaml`, `msgpack`). */
  readonly name: string;
  /** Encodes `value`; throws SerializationError naming the path of an unsupported value. */
  serialize(value: unknown): Uint8Array;
  /**
   * Decodes `bytes`; throws SerializationError (never anything else) on any malformed input. With `limits`, a
   * document holding more values or deeper nesting is refused too (run `scan` first to refuse it cheaply).
   */
  deserialize(bytes: Uint8Array, limits?: StructureLimits): unknown;
  /**
   * A linear pre-scan that bounds the structure of `bytes` without building anything: its cost does not grow
   * with what a document declares, only with the bytes read until a limit is passed. Run it before deserialize
   * on bytes from the wire.
   */
  scan(bytes: Uint8Array, limits: StructureLimits): StructureVerdict;
}

/** Bounds on the structure of a received document. */
export interface StructureLimits {
  /** Most values a document may hold: every scalar, map key and container counts one. */
  readonly maxItems: number;
  /** Deepest nesting of containers (a scalar at the root has depth 0). */
  readonly maxDepth: number;
}

/**
 * What a pre-scan found: within the limits (with what it counted, an upper bound for formats that can only be
 * bounded), over a limit, or malformed in a way that makes decoding pointless.
 */
export type StructureVerdict =
  | {
    readonly ok: true;
    /** Values counted (msgpack), or an upper bound on them (yaml). */
    readonly items: number;
    /** Deepest nesting found, or null when the format's parser enforces the depth limit itself (yaml). */
    readonly depth: number | null;
  }
  | { readonly ok: false; readonly kind: 'limit' | 'malformed'; readonly reason: string };
