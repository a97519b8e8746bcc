/**
 * Ruby Marshal 4.8 for protocol version 1, restricted to what MCollective messages carry: nil, true, false, Integer,
 * Float, String, Symbol, Array and Hash. Everything else (objects, structs, user types, classes, modules, regexps,
 * extended objects, Hashes with a default value) is refused with an error naming the type code and offset.
 *
 * Reading is one bounded pass: every length is checked against the bytes that remain before anything is allocated,
 * values are counted (link expansions included) and nesting is bounded. Object links (`@`) are followed only to
 * objects already complete, as Ruby writes them for a String shared by two fields; a link into an unfinished
 * Array or Hash (a cycle) is refused.
 *
 * Not @hyrious/marshal: its loader names every Symbol with `Symbol.for`, and the process-wide symbol registry never
 * frees an entry, so the unauthenticated outer hash of every message would grow the daemon's memory without bound
 * (measured: 105 MB kept per million names); it also replaces invalid UTF-8 with U+FFFD silently.
 */
import { InvalidArgumentError, MalformedMessageError } from '../../../../src/errors.js';
import { MAX_BIGNUM_BYTES, type V1Limits } from './limits.js';
import { RubyHash, RubySymbol, hasLoneSurrogate, isRubyKey, type RubyValue } from './ruby-values.js';

const T = {
  nil: 0x30, true: 0x54, false: 0x46, fixnum: 0x69, bignum: 0x6c, float: 0x66, string: 0x22, ivar: 0x49,
  symbol: 0x3a, symlink: 0x3b, link: 0x40, array: 0x5b, hash: 0x7b,
} as const;

const NAMES: Record<number, string> = {
  0x7d: 'Hash with a default value', 0x6f: 'Object', 0x65: 'extended object', 0x43: 'user subclass', 0x75: 'user-defined type (_dump)',
  0x55: 'user-marshalled type (marshal_dump)', 0x64: 'Data object', 0x53: 'Struct', 0x2f: 'Regexp', 0x63: 'Class', 0x6d: 'Module', 0x4d: 'Module',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An entry of Ruby's object table: what a link (`@n`) may point at. */
interface TableEntry { value: RubyValue; complete: boolean; items: number }

class Reader {
  pos = 2;
  items = 0;
  readonly symbols: string[] = [];
  readonly objects: TableEntry[] = [];
  constructor(readonly bytes: Uint8Array, readonly limits: V1Limits) {}

  fail(what: string, at = this.pos): never {
    throw new MalformedMessageError(`Marshal data: ${what} at offset ${at}`);
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail('truncated');
    return this.bytes[this.pos++]!;
  }

  /** Ruby's w_long: one byte for small values, else a signed length byte and up to 4 little-endian bytes. */
  long(): number {
    const c = (this.byte() << 24) >> 24;
    if (c === 0) return 0;
    if (c > 4) return c - 5;
    if (c < -4) return c + 5;
    const n = Math.abs(c);
    if (this.pos + n > this.bytes.length) this.fail('truncated integer');
    let x = 0;
    for (let i = 0; i < n; i++) x += this.bytes[this.pos++]! * 2 ** (8 * i);
    return c > 0 ? x : x - 2 ** (8 * n);
  }

  /** A length or count: non-negative, and no larger than `perItem` bytes each can fit in what remains. */
  count(what: string, perItem: number): number {
    const at = this.pos;
    const n = this.long();
    if (n < 0 || n * perItem > this.bytes.length - this.pos) this.fail(`${what} ${n} exceeds the remaining ${this.bytes.length - this.pos} bytes`, at);
    return n;
  }

  chunk(): Uint8Array {
    const n = this.count('length', 1);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  tally(n = 1): void {
    this.items += n;
    if (this.items > this.limits.maxItems) this.fail(`more than ${this.limits.maxItems} values`);
  }

  register(value: RubyValue, complete: boolean): TableEntry {
    const entry = { value, complete, items: 1 };
    this.objects.push(entry);
    return entry;
  }

  symbolName(bytes: Uint8Array, at: number): string {
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail('Symbol name is not valid UTF-8', at);
    }
  }

  value(depth: number): RubyValue {
    const at = this.pos;
    const type = this.byte();
    const before = this.items;
    this.tally();
    switch (type) {
      case T.nil: return null;
      case T.true: return true;
      case T.false: return false;
      case T.fixnum: return this.long();
      case T.symbol: return this.symbol(at);
      case T.symlink: return this.symlink();
      case T.link: return this.link(at, before);
      case T.float: return this.register(this.float(at), true).value;
      case T.bignum: return this.register(this.bignum(at), true).value;
      case T.string: return this.register(Uint8Array.from(this.chunk()), true).value;
      case T.ivar: return this.ivar(at);
      case T.array: return this.array(depth, before);
      case T.hash: return this.hash(depth, before);
      default: return this.fail(`${NAMES[type] ?? `type 0x${type.toString(16).padStart(2, '0')}`} is not allowed`, at);
    }
  }

  symbol(at: number): RubySymbol {
    const name = this.symbolName(this.chunk(), at);
    this.symbols.push(name);
    return new RubySymbol(name);
  }

  symlink(): RubySymbol {
    const at = this.pos;
    const index = this.long();
    const name = this.symbols[index];
    if (name === undefined) this.fail(`Symbol link ${index} points at no Symbol`, at);
    return new RubySymbol(name);
  }

  link(at: number, before: number): RubyValue {
    const index = this.long();
    const entry = this.objects[index];
    if (entry === undefined) this.fail(`object link ${index} points at no object`, at);
    if (!entry.complete) this.fail(`object link ${index} points into an unfinished Array or Hash (a cycle)`, at);
    // A link stands for its whole target: count it again, so shared structure cannot multiply work unseen.
    this.items = before;
    this.tally(entry.items);
    return entry.value;
  }

  float(at: number): number {
    const text = Buffer.from(this.chunk()).toString('latin1');
    if (text === 'inf') return Infinity;
    if (text === '-inf') return -Infinity;
    if (text === 'nan') return NaN;
    if (!/^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/.test(text)) this.fail(`Float ${JSON.stringify(text.slice(0, 40))} does not parse`, at);
    return Number(text);
  }

  bignum(at: number): number | bigint {
    const sign = this.byte();
    if (sign !== 0x2b && sign !== 0x2d) this.fail('Bignum sign is neither + nor -', at);
    const shorts = this.count('Bignum length', 2);
    if (shorts * 2 > MAX_BIGNUM_BYTES) this.fail(`Bignum of ${shorts * 2} bytes is over ${MAX_BIGNUM_BYTES}`, at);
    let x = 0n;
    // Bytes are little-endian: fold from the most significant one down.
    for (let i = shorts * 2 - 1; i >= 0; i--) x = (x << 8n) | BigInt(this.bytes[this.pos + i]!);
    this.pos += shorts * 2;
    if (sign === 0x2d) x = -x;
    return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
  }

  /** `I` wraps a String or a Symbol with its encoding: exactly one ivar, `:E` true (UTF-8) or false (US-ASCII). */
  ivar(at: number): RubyValue {
    const inner = this.byte();
    if (inner !== T.string && inner !== T.symbol) this.fail('instance variables are only allowed on a String or Symbol', at);
    const bytes = this.chunk();
    const entry = inner === T.string ? this.register(null, true) : undefined;
    const ivars = this.long();
    if (ivars !== 1) this.fail(`a String with ${ivars} instance variables is not allowed (only its encoding)`, at);
    const keyAt = this.pos;
    const keyType = this.byte();
    const key = keyType === T.symbol ? this.symbol(keyAt) : keyType === T.symlink ? this.symlink() : this.fail('String ivar name is not a Symbol', keyAt);
    if (key.name !== 'E') this.fail(`String encoding ${JSON.stringify(key.name.slice(0, 40))} is not allowed (only UTF-8 and US-ASCII)`, keyAt);
    const flag = this.byte();
    if (flag !== T.true && flag !== T.false) this.fail('String encoding flag is not true or false', this.pos - 1);
    if (flag === T.false && bytes.some((b) => b > 0x7f)) this.fail('US-ASCII String holds a byte over 0x7f', at);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return this.fail('UTF-8 String is not valid UTF-8', at);
    }
    if (inner === T.symbol) {
      this.symbols.push(text);
      return new RubySymbol(text);
    }
    entry!.value = text;
    return text;
  }

  array(depth: number, before: number): RubyValue[] {
    if (depth >= this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth}`);
    const n = this.count('Array length', 1);
    const out: RubyValue[] = [];
    const entry = this.register(out, false);
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
    entry.complete = true;
    entry.items = this.items - before;
    return out;
  }

  hash(depth: number, before: number): RubyHash {
    if (depth >= this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth}`);
    const n = this.count('Hash size', 2);
    const out = new RubyHash();
    const entry = this.register(out, false);
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const key = this.value(depth + 1);
      if (!isRubyKey(key)) this.fail('a Hash key must be nil, a boolean, a number, a String or a Symbol', at);
      if (!out.add(key, this.value(depth + 1))) this.fail('duplicate Hash key', at);
    }
    entry.complete = true;
    entry.items = this.items - before;
    return out;
  }
}

/** Decodes one Marshal 4.8 document within `limits`; MalformedMessageError names what is wrong and where. */
export function readMarshal(bytes: Uint8Array, limits: V1Limits): RubyValue {
  if (bytes.length > limits.maxBytes) throw new MalformedMessageError(`Marshal data of ${bytes.length} bytes is over the ${limits.maxBytes}-byte limit`);
  if (bytes.length < 3 || bytes[0] !== 4 || bytes[1] !== 8) throw new MalformedMessageError('not Marshal 4.8 data (it must start 0x04 0x08)');
  const reader = new Reader(bytes, limits);
  const value = reader.value(0);
  if (reader.pos !== bytes.length) reader.fail(`${bytes.length - reader.pos} trailing bytes`);
  return value;
}

/** Grows as needed; one allocation per doubling. */
class Writer {
  buf = Buffer.allocUnsafe(1024);
  pos = 0;
  readonly symbols = new Map<string, number>();

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  long(x: number): void {
    if (x === 0) return this.byte(0);
    if (x > 0 && x < 123) return this.byte(x + 5);
    if (x < 0 && x > -124) return this.byte((x - 5) & 0xff);
    const bytes: number[] = [];
    let rest = x;
    do {
      bytes.push(rest & 0xff);
      rest >>= 8;
    } while (rest !== 0 && rest !== -1);
    this.byte(x > 0 ? bytes.length : -bytes.length & 0xff);
    for (const b of bytes) this.byte(b);
  }

  bytes(data: Uint8Array): void {
    this.long(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
}

const FIXNUM_MIN = -(2 ** 30);
const FIXNUM_MAX = 2 ** 30 - 1;

function writeValue(w: Writer, value: RubyValue, depth: number, maxDepth: number): void {
  if (value === null) return w.byte(T.nil);
  if (value === true) return w.byte(T.true);
  if (value === false) return w.byte(T.false);
  if (value instanceof RubySymbol) return writeSymbol(w, value.name);
  if (typeof value === 'number' || typeof value === 'bigint') return writeNumber(w, value);
  if (typeof value === 'string') {
    if (hasLoneSurrogate(value)) throw new InvalidArgumentError('Marshal: a string holds a lone UTF-16 surrogate, which UTF-8 cannot carry');
    w.byte(T.ivar);
    w.byte(T.string);
    w.bytes(Buffer.from(value, 'utf8'));
    w.long(1);
    writeSymbol(w, 'E');
    return w.byte(T.true);
  }
  if (value instanceof Uint8Array) {
    w.byte(T.string);
    return w.bytes(value);
  }
  if (depth >= maxDepth) throw new InvalidArgumentError(`Marshal: value nested deeper than ${maxDepth} (or circular)`);
  if (Array.isArray(value)) {
    w.byte(T.array);
    w.long(value.length);
    for (const item of value) writeValue(w, item, depth + 1, maxDepth);
    return;
  }
  if (value instanceof RubyHash) {
    w.byte(T.hash);
    w.long(value.size);
    for (const [key, item] of value.entries()) {
      writeValue(w, key, depth + 1, maxDepth);
      writeValue(w, item, depth + 1, maxDepth);
    }
    return;
  }
  throw new InvalidArgumentError(`Marshal: ${typeof value === 'object' ? (value as object).constructor?.name ?? 'an object' : typeof value} has no Ruby equivalent`);
}

function writeSymbol(w: Writer, name: string): void {
  const index = w.symbols.get(name);
  if (index !== undefined) {
    w.byte(T.symlink);
    return w.long(index);
  }
  w.symbols.set(name, w.symbols.size);
  const bytes = Buffer.from(name, 'utf8');
  // Ruby writes a non-ASCII Symbol wrapped with its encoding; the ivar's own name (:E) is the next Symbol.
  const ascii = bytes.length === name.length;
  if (!ascii) w.byte(T.ivar);
  w.byte(T.symbol);
  w.bytes(bytes);
  if (!ascii) {
    w.long(1);
    writeSymbol(w, 'E');
    w.byte(T.true);
  }
}

function writeNumber(w: Writer, value: number | bigint): void {
  if (typeof value === 'number' && !Number.isInteger(value)) {
    w.byte(T.float);
    const text = Number.isNaN(value) ? 'nan' : value === Infinity ? 'inf' : value === -Infinity ? '-inf' : String(value);
    return w.bytes(Buffer.from(text, 'latin1'));
  }
  if (typeof value === 'number' && value >= FIXNUM_MIN && value <= FIXNUM_MAX) {
    w.byte(T.fixnum);
    return w.long(value);
  }
  let magnitude = BigInt(value);
  w.byte(T.bignum);
  w.byte(magnitude < 0n ? 0x2d : 0x2b);
  if (magnitude < 0n) magnitude = -magnitude;
  const bytes: number[] = [];
  for (; magnitude > 0n; magnitude >>= 8n) bytes.push(Number(magnitude & 0xffn));
  if (bytes.length % 2 === 1) bytes.push(0);
  w.long(bytes.length / 2);
  for (const b of bytes) w.byte(b);
}

/** Encodes `value` as Marshal 4.8 the way Ruby reads it back to the same value (no object links are written). */
export function writeMarshal(value: RubyValue, maxDepth = 64): Buffer {
  const w = new Writer();
  w.byte(4);
  w.byte(8);
  writeValue(w, value, 0, maxDepth);
  return w.buf.subarray(0, w.pos);
}
