/**
 * The value model both serializers share: a check run before encoding (so errors name the path of
 * the bad value instead of surfacing a library's generic message) and a normalisation run after
 * decoding (so every decoder hands back the same shapes and nothing unsafe slips through).
 */
import { SerializationError } from '../errors.js';

/** Deepest nesting accepted in either direction (matches js-yaml's default parser limit). */
export const MAX_DEPTH = 100;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The keys from the root to a value. Kept as a stack and rendered only when something is wrong,
 * so walking a valid message builds no strings.
 */
type Path = Array<string | number>;

/** Renders a path the way a reader of the data would write it: `data.items[2]`, `a["b c"]`, `(root)`. */
export function renderPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (IDENTIFIER.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto?.constructor?.name ? `an instance of ${proto.constructor.name}` : 'an object';
}

/** Whether `value` is an object literal (or a null-prototype object): the only kind of map we encode. */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` fits the shared value model before it is encoded.
 * Returns true when some object property holds `undefined` (the caller then encodes
 * `withoutUndefined(value)` instead); returns false when the value can be encoded as it is,
 * which keeps the common case free of copies.
 */
export function checkSerializable(format: string, value: unknown): boolean {
  return check(format, value, [], [], false);
}

function fail(format: string, path: Path, problem: string): never {
  throw new SerializationError(`${format}: cannot serialize ${renderPath(path)}: ${problem}`);
}

function check(format: string, value: unknown, path: Path, ancestors: object[], inObject: boolean): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return false;
    case 'undefined':
      if (inObject) return true;
      return fail(format, path, 'undefined is only allowed as an object property value (where it is omitted)');
    case 'bigint':
      return fail(format, path, 'bigint is not supported; send it as a string or a number');
    case 'function':
    case 'symbol':
      return fail(format, path, `a ${typeof value} is not data`);
  }
  if (value === null) return false;
  const object = value as object;
  if (object instanceof Uint8Array) return false;
  if (object instanceof Date) {
    if (Number.isNaN(object.getTime())) fail(format, path, 'invalid Date');
    return false;
  }
  if (ancestors.length >= MAX_DEPTH) fail(format, path, `nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.includes(object)) fail(format, path, 'circular reference');
  let hasUndefined = false;
  ancestors.push(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      path.push(i);
      if (check(format, object[i], path, ancestors, false)) hasUndefined = true;
      path.pop();
    }
  } else if (isPlainObject(object)) {
    for (const key of Object.keys(object)) {
      path.push(key);
      if (key === '__proto__') fail(format, path, 'a "__proto__" key is refused (prototype pollution)');
      if (check(format, object[key], path, ancestors, true)) hasUndefined = true;
      path.pop();
    }
  } else {
    fail(format, path, `${describe(object)} is not supported (use a plain object, array, string, number, boolean, null, Uint8Array or Date)`);
  }
  ancestors.pop();
  return hasUndefined;
}

/** A copy of an already checked value with every `undefined` object property left out. */
export function withoutUndefined(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(withoutUndefined);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) copy[key] = withoutUndefined(item);
  }
  return copy;
}

/** Limits applied while normalising decoded data. */
export interface DecodeLimits {
  /** Most nodes (values, counting each alias expansion again) a document may expand to. */
  maxNodes: number;
  /** Deepest container nesting (MAX_DEPTH when absent, and never more). */
  maxDepth?: number;
}

/**
 * Walks freshly decoded data and returns it in the shared value model: `Map`s become plain
 * objects (string keys only), `Buffer`s become plain `Uint8Array` views (no copy), and anything
 * a decoder may produce outside the model (extension types such as Set, RegExp, Error, bigint,
 * undefined) is refused. Mutates arrays and objects in place; they are fresh from the decoder.
 */
export function normalizeDecoded(format: string, value: unknown, limits: DecodeLimits): unknown {
  const state = { nodes: 0 };
  return normalize(format, value, [], limits, state);
}

function refuse(format: string, path: Path, problem: string, limitExceeded = false): never {
  throw new SerializationError(`${format}: cannot deserialize ${renderPath(path)}: ${problem}`, { limitExceeded });
}

function normalize(format: string, value: unknown, path: Path, limits: DecodeLimits, state: { nodes: number }): unknown {
  if (++state.nodes > limits.maxNodes) {
    refuse(format, path, `document expands to more than ${limits.maxNodes} values (too many values, or an alias bomb)`, true);
  }
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return refuse(format, path, 'integer outside the exactly representable range (±2^53)');
    case 'undefined':
      return refuse(format, path, 'undefined is not data');
  }
  if (value === null) return null;
  if (typeof value !== 'object') return refuse(format, path, `a ${typeof value} is not data`);
  const maxDepth = Math.min(limits.maxDepth ?? MAX_DEPTH, MAX_DEPTH);
  if (path.length >= maxDepth) refuse(format, path, `nested deeper than ${maxDepth} levels`, true);
  if (value instanceof Uint8Array) {
    return Object.getPrototypeOf(value) === Uint8Array.prototype ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) refuse(format, path, 'invalid timestamp');
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      value[i] = normalize(format, value[i], path, limits, state);
      path.pop();
    }
    return value;
  }
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, item] of value) {
      if (typeof key !== 'string') refuse(format, path, `map key ${String(key)} is a ${typeof key}; only string keys are supported`);
      path.push(key);
      if (key === '__proto__') refuse(format, path, 'a "__proto__" key is refused (prototype pollution)');
      object[key] = normalize(format, item, path, limits, state);
      path.pop();
    }
    return object;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      path.push(key);
      if (key === '__proto__') refuse(format, path, 'a "__proto__" key is refused (prototype pollution)');
      value[key] = normalize(format, value[key], path, limits, state);
      path.pop();
    }
    return value;
  }
  return refuse(format, path, `${describe(value)} is not supported`);
}
