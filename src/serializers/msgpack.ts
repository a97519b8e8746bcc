/**
 * MessagePack via msgpackr, restricted to plain data: no records, no msgpackr-specific
 * extensions on output, maps decoded through the shared normaliser so that extension types a
 * peer might send (Set, RegExp, Error, structured-clone references) are refused.
 */
import { msgpackr } from '../util/lazy-require.js';
import { SerializationError } from '../errors.js';
import { scanMsgpack } from './scan-msgpack.js';
import type { Serializer, StructureLimits, StructureVerdict } from './serializer.js';
import { checkSerializable, normalizeDecoded, withoutUndefined } from './values.js';

const FORMAT = 'msgpack';

/** Decoded documents have no aliases, so the node budget only bounds pathological inputs. */
const DECODE_LIMITS = { maxNodes: 1_000_000 };

/** msgpack: compact and fast; the default for the aes_security provider. */
export class MsgpackSerializer implements Serializer {
  readonly name = FORMAT;

  private readonly packr = new (msgpackr().Packr)({
    useRecords: false,
    moreTypes: false,
    // Maps come back as Map so the normaliser sees every key as sent (msgpackr would silently
    // rename a "__proto__" key, and coerce non-string keys, if it built the objects itself).
    mapsAsObjects: false,
    structuredClone: false,
    // Integers beyond ±2^53 decode as bigint, which the normaliser refuses instead of rounding.
    // ('auto' is implemented by msgpackr's unpacker but missing from its type declarations.)
    int64AsType: 'auto' as 'bigint',
    // Decoded binary must not alias the input, which callers are free to reuse.
    copyBuffers: true,
  });

  serialize(value: unknown): Uint8Array {
    const encodable = checkSerializable(FORMAT, value) ? withoutUndefined(value) : value;
    try {
      return this.packr.pack(encodable);
    } catch (error) {
      throw new SerializationError(`${FORMAT}: cannot serialize: ${(error as Error).message}`, { cause: error });
    }
  }

  scan(bytes: Uint8Array, limits: StructureLimits): StructureVerdict {
    return scanMsgpack(bytes, limits);
  }

  deserialize(bytes: Uint8Array, limits?: StructureLimits): unknown {
    if (!(bytes instanceof Uint8Array)) {
      throw new SerializationError(`${FORMAT}: bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
    }
    if (bytes.length === 0) throw new SerializationError(`${FORMAT}: cannot deserialize an empty message`);
    let decoded: unknown;
    try {
      decoded = this.packr.unpack(bytes);
    } catch (error) {
      // msgpackr throws plain Errors (and RangeError on absurd nesting); callers rely on one class.
      const reason = error instanceof Error ? error.message : String(error);
      throw new SerializationError(`${FORMAT}: cannot decode ${bytes.length} bytes: ${reason}`, { cause: error });
    }
    if (!limits) return normalizeDecoded(FORMAT, decoded, DECODE_LIMITS);
    return normalizeDecoded(FORMAT, decoded, { maxNodes: Math.min(DECODE_LIMITS.maxNodes, limits.maxItems), maxDepth: limits.maxDepth });
  }
}
