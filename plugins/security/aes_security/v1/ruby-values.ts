/**
 * The value model of protocol version 1 (MCollective 2.x `aes_security`): the Ruby values its messages carry,
 * with Ruby's distinctions kept so a decoded message re-encodes to what Ruby expects.
 *
 * | Ruby | here |
 * |---|---|
 * | nil, true, false | `null`, `true`, `false` |
 * | Integer | `number` (a safe integer) or `bigint` (beyond 2^53) |
 * | Float | `number` that is not an integer (an integral Float such as `2.0` decodes to `2` and re-encodes as an Integer; Ruby's `==` treats them alike) |
 * | String (UTF-8 / US-ASCII) | `string` |
 * | String (ASCII-8BIT, binary) | `Uint8Array` |
 * | Symbol | {@link RubySymbol} |
 * | Array | `RubyValue[]` |
 * | Hash | {@link RubyHash} (keys keep their kind: `:agent` and `"agent"` are different keys) |
 *
 * Symbols are plain objects compared by name, never interned: `Symbol.for` or a global intern table would keep every
 * name an attacker ever sent alive for the life of the process.
 */
import { InvalidArgumentError } from '../../../../src/errors.js';

/** A Ruby Symbol (`:name`). Compared by name; see {@link isSymbol}. */
export class RubySymbol {
  constructor(readonly name: string) {}
  /** Ruby's inspect form, `:name`. */
  toString(): string {
    return `:${this.name}`;
  }
}

/** Keys a Ruby Hash may have in version 1 messages: scalars only. */
export type RubyKey = string | RubySymbol | number | bigint | boolean | null;

/** Any value a version 1 message may carry. */
export type RubyValue = RubyKey | Uint8Array | RubyValue[] | RubyHash;

/** A Ruby Symbol named `name`. */
export function sym(name: string): RubySymbol {
  return new RubySymbol(name);
}

/** Whether `value` is the Symbol `:name` (or any Symbol when `name` is omitted). */
export function isSymbol(value: unknown, name?: string): value is RubySymbol {
  return value instanceof RubySymbol && (name === undefined || value.name === name);
}

/** A stable text form of a key that tells its Ruby class apart (`:a` and `"a"` differ). */
function keyId(key: RubyKey): string {
  if (key instanceof RubySymbol) return `y${key.name}`;
  switch (typeof key) {
    case 'string': return `s${key}`;
    case 'number': return Number.isInteger(key) ? `i${key}` : `f${key}`;
    case 'bigint': return `i${key}`;
    case 'boolean': return key ? 't' : 'F';
    default: return 'n';
  }
}

/** Whether `value` can be a Hash key here (a scalar). */
export function isRubyKey(value: unknown): value is RubyKey {
  return value === null || value instanceof RubySymbol || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/** A Ruby Hash: insertion-ordered entries whose keys keep their Ruby class. */
export class RubyHash {
  readonly #entries: Array<[RubyKey, RubyValue]> = [];
  readonly #index = new Map<string, number>();

  constructor(entries: Iterable<readonly [RubyKey, RubyValue]> = []) {
    for (const [key, value] of entries) this.set(key, value);
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.length;
  }

  /** Sets `key` (replacing an existing entry in place, as Ruby does). */
  set(key: RubyKey, value: RubyValue): this {
    const id = keyId(key);
    const at = this.#index.get(id);
    if (at === undefined) {
      this.#index.set(id, this.#entries.length);
      this.#entries.push([key, value]);
    } else {
      this.#entries[at]![1] = value;
    }
    return this;
  }

  /** Adds a new entry; false (and no change) when the key is already present. Decoders refuse duplicates with it. */
  add(key: RubyKey, value: RubyValue): boolean {
    const id = keyId(key);
    if (this.#index.has(id)) return false;
    this.#index.set(id, this.#entries.length);
    this.#entries.push([key, value]);
    return true;
  }

  /** The value at `key`, or undefined. */
  get(key: RubyKey): RubyValue | undefined {
    const at = this.#index.get(keyId(key));
    return at === undefined ? undefined : this.#entries[at]![1];
  }

  /** Whether `key` is present. */
  has(key: RubyKey): boolean {
    return this.#index.has(keyId(key));
  }

  /** The value at Symbol key `:name`. */
  getSym(name: string): RubyValue | undefined {
    return this.get(sym(name));
  }

  /** The entries, in insertion order. */
  entries(): ReadonlyArray<readonly [RubyKey, RubyValue]> {
    return this.#entries;
  }

  /** The keys, in insertion order. */
  keys(): RubyKey[] {
    return this.#entries.map(([key]) => key);
  }
}

/** A Hash with Symbol keys, from a record: `symHash({ agent: 'rpcutil' })` is `{:agent => "rpcutil"}`. */
export function symHash(record: Record<string, RubyValue>): RubyHash {
  return new RubyHash(Object.entries(record).map(([key, value]) => [sym(key), value] as const));
}

/** A Hash with String keys, from a record: `strHash({ fact: [] })` is `{"fact" => []}`. */
export function strHash(record: Record<string, RubyValue>): RubyHash {
  return new RubyHash(Object.entries(record));
}

/** Ruby's inspect form of a value, for error messages, test comparisons and logs (`{:a=>"b", "c"=>[1, nil]}`). */
export function inspect(value: RubyValue): string {
  if (value === null) return 'nil';
  if (value instanceof RubySymbol) return /^[A-Za-z_][\w]*[?!=]?$/.test(value.name) ? `:${value.name}` : `:${JSON.stringify(value.name)}`;
  if (value instanceof RubyHash) {
    return `{${value.entries().map(([k, v]) => `${inspect(k)}=>${inspect(v)}`).join(', ')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(inspect).join(', ')}]`;
  if (value instanceof Uint8Array) return `${JSON.stringify(Buffer.from(value).toString('latin1'))}.b`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  }
  return String(value);
}

/**
 * Converts a Ruby value to plain JavaScript data (the shared value model of tscollective's serializers): Symbols
 * become their names, Hashes become objects keyed by the key's name. Throws InvalidArgumentError when two keys of a
 * Hash would collide (`:a` and `"a"`), when a key is not a String or Symbol, or on `__proto__`.
 */
export function toPlain(value: RubyValue, path = '(root)'): unknown {
  if (value instanceof RubySymbol) return value.name;
  if (Array.isArray(value)) return value.map((item, i) => toPlain(item, `${path}[${i}]`));
  if (value instanceof RubyHash) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value.entries()) {
      const name = key instanceof RubySymbol ? key.name : typeof key === 'string' ? key : null;
      if (name === null) throw new InvalidArgumentError(`${path}: a Hash key ${inspect(key)} has no plain equivalent (only String and Symbol keys)`);
      if (name === '__proto__') throw new InvalidArgumentError(`${path}: a "__proto__" key is refused`);
      if (Object.hasOwn(out, name)) throw new InvalidArgumentError(`${path}: keys :${name} and "${name}" collide`);
      out[name] = toPlain(item, `${path}.${name}`);
    }
    return out;
  }
  return value;
}

/** How {@link fromPlain} turns object keys into Hash keys. */
export type KeyStyle = 'symbol' | 'string';

/**
 * Converts plain JavaScript data to a Ruby value. Object keys become Symbols (`keys = 'symbol'`, MCollective's
 * convention for message bodies and RPC data) or Strings. Values already in the Ruby model pass through, so a caller
 * can mix: `fromPlain({ data: someRubyHash })`. Refuses undefined, functions, class instances, cycles and Dates
 * (send a Date as a string or a number).
 */
export function fromPlain(value: unknown, keys: KeyStyle = 'symbol', path = '(root)', ancestors: object[] = []): RubyValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value === 'number') return value;
  if (value instanceof RubySymbol || value instanceof RubyHash || value instanceof Uint8Array) return value;
  if (typeof value !== 'object') throw new InvalidArgumentError(`${path}: a ${typeof value} has no Ruby equivalent`);
  if (ancestors.includes(value)) throw new InvalidArgumentError(`${path}: circular reference`);
  ancestors.push(value);
  let out: RubyValue;
  if (Array.isArray(value)) {
    out = value.map((item, i) => fromPlain(item, keys, `${path}[${i}]`, ancestors));
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidArgumentError(`${path}: an instance of ${(value as object).constructor?.name ?? 'a class'} has no Ruby equivalent`);
    }
    const hash = new RubyHash();
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      hash.set(keys === 'symbol' ? sym(key) : key, fromPlain(item, keys, `${path}.${key}`, ancestors));
    }
    out = hash;
  }
  ancestors.pop();
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` holds a lone UTF-16 surrogate, which UTF-8 (and so Ruby) cannot carry. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Structural equality of two Ruby values (Hash order ignored, as Ruby's `==`). */
export function rubyEqual(a: RubyValue, b: RubyValue): boolean {
  if (a instanceof RubySymbol || b instanceof RubySymbol) return a instanceof RubySymbol && b instanceof RubySymbol && a.name === b.name;
  if (a instanceof RubyHash || b instanceof RubyHash) {
    if (!(a instanceof RubyHash && b instanceof RubyHash) || a.size !== b.size) return false;
    return a.entries().every(([k, v]) => b.has(k) && rubyEqual(v, b.get(k)!));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => rubyEqual(item, b[i]!));
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  if ((typeof a === 'bigint' && typeof b === 'number') || (typeof a === 'number' && typeof b === 'bigint')) {
    // 2 ** 60 may arrive as a number or, decoded, as a bigint: the same Ruby Integer.
    const integral = (x: number | bigint): boolean => typeof x === 'bigint' || Number.isInteger(x);
    return integral(a) && integral(b) && BigInt(a) === BigInt(b);
  }
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}
