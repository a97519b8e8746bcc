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
  /** Decodes `bytes`; throws SerializationError (never anything else) on any malformed input. */
  deserialize(bytes: Uint8Array): unknown;
}
