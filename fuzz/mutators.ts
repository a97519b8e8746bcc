/**
 * Mutations of a valid message: byte-level (bit and byte flips, arithmetic on what may be a length, truncation,
 * erasure, insertion, splices of two messages) and structure-aware (section swaps, lying length fields, header
 * field swaps, transplants from other messages, type-confused values, dropped and added fields). Each takes the
 * input and a context and returns a new message, or null when it does not apply to this input.
 */
import type { Rng } from './rng.js';
import type { Dissected, SideTarget } from './target.js';

/** What a mutation may use besides its input. */
export interface MutationContext {
  rng: Rng;
  /** The codec of the side being fuzzed. */
  side: SideTarget;
  /** Valid messages of every side, to splice from and take fields and sections from. */
  donors: readonly Uint8Array[];
}

/** One kind of mutation. */
export interface Mutator {
  name: string;
  /** Relative frequency. */
  weight: number;
  apply(input: Uint8Array, context: MutationContext): Uint8Array | null;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xd9, 0xdb, 0xdf, 0x90, 0x80, 0xa0];

function copy(input: Uint8Array): Buffer {
  return Buffer.from(input);
}

/** Values that break type and size assumptions, for header fields. */
function oddValue(rng: Rng): unknown {
  switch (rng.below(22)) {
    case 0: return '';
    case 1: return 'x'.repeat(rng.pick([63, 64, 65, 255, 256, 4096, 70_000]));
    case 2: return -1;
    case 3: return 0;
    case 4: return 2 ** 53 + rng.below(10);
    case 5: return Number.NaN;
    case 6: return rng.pick([Infinity, -Infinity]);
    case 7: return 1.5;
    case 8: return null;
    case 9: return rng.chance(0.5);
    case 10: return [1, 'two', null];
    case 11: return { nested: { deeper: [1, 2, 3] } };
    case 12: return rng.bytes(rng.pick([0, 1, 11, 12, 13, 31, 32, 33, 256]));
    case 13: return 'cert=';
    case 14: return `cert=${'a'.repeat(rng.between(1, 80))}`;
    case 15: return 'node\u0000name';
    case 16: return '../../etc/passwd';
    case 17: return 'ünïcødé-☃';
    case 18: return rng.uint32() - 0x8000_0000;
    case 19: return Array.from({ length: rng.between(0, 200) }, (_, i) => i);
    case 20: return withOwnProto({ mode: 'rsa' });
    default: return { mode: rng.pick(['rsa', 'ephemeral', 'none', '']), pk: rng.bytes(rng.pick([0, 31, 32, 33])) };
  }
}

/** An object with an own `__proto__` key, as a hostile decoder input would carry. */
function withOwnProto(base: Record<string, unknown>): Record<string, unknown> {
  const value = { ...base };
  Object.defineProperty(value, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
  return value;
}

function rebuildWith(context: MutationContext, parts: Dissected, fields: Record<string, unknown>): Uint8Array {
  const sections = [...parts.sections];
  sections[0] = context.side.encodeFields(fields);
  return context.side.frame(parts.prefix, sections);
}

/** A dissected donor (another valid message of any side), or null. */
function dissectedDonor(context: MutationContext): Dissected | null {
  return context.side.dissect(context.rng.pick(context.donors));
}

/** Every mutation the fuzzer applies, byte-level first. */
export const MUTATORS: readonly Mutator[] = [
  {
    name: 'bit-flip', weight: 6,
    apply(input, { rng }) {
      const out = copy(input);
      for (let n = rng.chance(0.7) ? 1 : rng.between(2, 8); n > 0; n--) out[rng.below(out.length)]! ^= 1 << rng.below(8);
      return out;
    },
  },
  {
    name: 'byte-set', weight: 5,
    apply(input, { rng }) {
      const out = copy(input);
      for (let n = rng.between(1, 4); n > 0; n--) out[rng.below(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
      return out;
    },
  },
  {
    name: 'arithmetic', weight: 3,
    apply(input, { rng }) {
      const out = copy(input);
      const width = rng.pick([1, 2, 4] as const);
      if (out.length < width) return null;
      const at = rng.below(out.length - width + 1);
      const delta = rng.chance(0.5) ? rng.between(1, 35) : -rng.between(1, 35);
      if (width === 1) out[at] = (out[at]! + delta) & 0xff;
      else if (width === 2) out.writeUInt16BE((out.readUInt16BE(at) + delta) & 0xffff, at);
      else out.writeUInt32BE((out.readUInt32BE(at) + delta) >>> 0, at);
      return out;
    },
  },
  {
    name: 'truncate', weight: 3,
    apply(input, { rng }) {
      return copy(input.subarray(0, rng.below(input.length)));
    },
  },
  {
    name: 'erase', weight: 3,
    apply(input, { rng }) {
      if (input.length < 2) return null;
      const length = rng.between(1, Math.min(64, input.length - 1));
      const at = rng.below(input.length - length + 1);
      return Buffer.concat([input.subarray(0, at), input.subarray(at + length)]);
    },
  },
  {
    name: 'insert', weight: 3,
    apply(input, { rng }) {
      const at = rng.below(input.length + 1);
      let chunk: Uint8Array;
      if (rng.chance(0.5)) {
        chunk = rng.bytes(rng.between(1, 64));
      } else {
        const from = rng.below(input.length);
        chunk = input.subarray(from, Math.min(input.length, from + rng.between(1, 256)));
      }
      return Buffer.concat([input.subarray(0, at), chunk, input.subarray(at)]);
    },
  },
  {
    name: 'splice', weight: 4,
    apply(input, { rng, donors }) {
      const other = rng.pick(donors);
      const cutA = rng.below(input.length + 1);
      const cutB = rng.chance(0.5) ? Math.min(cutA, other.length) : rng.below(other.length + 1);
      return rng.chance(0.5)
        ? Buffer.concat([input.subarray(0, cutA), other.subarray(cutB)])
        : Buffer.concat([other.subarray(0, cutB), input.subarray(cutA)]);
    },
  },
  {
    name: 'section-swap', weight: 4,
    apply(input, context) {
      const parts = context.side.dissect(input);
      const donor = dissectedDonor(context);
      if (!parts || !donor) return null;
      const { rng } = context;
      const prefix = copy(parts.prefix);
      const sections = [...parts.sections];
      switch (rng.below(4)) {
        case 0: {
          const index = rng.below(Math.min(sections.length, donor.sections.length));
          sections[index] = donor.sections[index]!;
          break;
        }
        case 1: {
          const [i, j] = [rng.below(sections.length), rng.below(sections.length)];
          [sections[i], sections[j]] = [sections[j]!, sections[i]!];
          break;
        }
        case 2:
          if (prefix.length === 0) return null;
          prefix[prefix.length - 1] = rng.pick([0, 1, 2, 3, 255, donor.prefix[donor.prefix.length - 1] ?? 0]);
          break;
        default:
          if (prefix.length < 2) return null;
          prefix[prefix.length - 2] = rng.pick([0, 1, 2, 3, 255]);
      }
      return context.side.frame(prefix, sections);
    },
  },
  {
    name: 'length-lie', weight: 3,
    apply(input, context) {
      const parts = context.side.dissect(input);
      if (!parts) return null;
      const out = copy(context.side.frame(parts.prefix, parts.sections));
      const field = context.rng.pick(context.side.lengthFields(parts.prefix, parts.sections));
      const max = field.bytes === 2 ? 0xffff : 0xffff_ffff;
      const current = field.bytes === 2 ? out.readUInt16BE(field.offset) : out.readUInt32BE(field.offset);
      const value = context.rng.pick([0, 1, current - 1, current + 1, max, max - 1, 0x0400_0000, 0x0400_0001, context.rng.uint32() & max]);
      const clamped = Math.max(0, Math.min(max, value));
      if (field.bytes === 2) out.writeUInt16BE(clamped, field.offset);
      else out.writeUInt32BE(clamped, field.offset);
      return out;
    },
  },
  {
    name: 'field-swap', weight: 4,
    apply(input, context) {
      const parts = context.side.dissect(input);
      if (!parts) return null;
      const names = Object.keys(parts.fields);
      if (names.length < 2) return null;
      const a = context.rng.pick(names);
      const b = context.rng.pick(names.filter((name) => name !== a));
      const fields = { ...parts.fields, [a]: parts.fields[b], [b]: parts.fields[a] };
      return rebuildWith(context, parts, fields);
    },
  },
  {
    name: 'field-transplant', weight: 4,
    apply(input, context) {
      const parts = context.side.dissect(input);
      const donor = dissectedDonor(context);
      if (!parts || !donor) return null;
      const names = Object.keys(donor.fields);
      if (names.length === 0) return null;
      const fields = { ...parts.fields };
      for (let n = context.rng.between(1, 3); n > 0; n--) {
        const name = context.rng.pick(names);
        fields[name] = donor.fields[name];
      }
      return rebuildWith(context, parts, fields);
    },
  },
  {
    name: 'field-odd-value', weight: 4,
    apply(input, context) {
      const parts = context.side.dissect(input);
      if (!parts) return null;
      const names = Object.keys(parts.fields);
      if (names.length === 0) return null;
      const fields = { ...parts.fields, [context.rng.pick(names)]: oddValue(context.rng) };
      return rebuildWith(context, parts, fields);
    },
  },
  {
    name: 'field-drop-add', weight: 3,
    apply(input, context) {
      const parts = context.side.dissect(input);
      if (!parts) return null;
      const fields = { ...parts.fields };
      const names = Object.keys(fields);
      const { rng } = context;
      switch (rng.below(4)) {
        case 0:
          if (names.length === 0) return null;
          delete fields[rng.pick(names)];
          break;
        case 1:
          fields[rng.pick(['extra', 'constructor', 'toString', 'callerid2', ''])] = oddValue(rng);
          break;
        case 2: {
          if (names.length === 0) return null;
          const name = rng.pick(names);
          fields[`${name}${rng.pick(['_', 'X', ' '])}`] = fields[name];
          delete fields[name];
          break;
        }
        default:
          return rebuildWith(context, parts, withOwnProto(fields));
      }
      return rebuildWith(context, parts, fields);
    },
  },
];

const TOTAL_WEIGHT = MUTATORS.reduce((sum, mutator) => sum + mutator.weight, 0);

/** Picks a mutator by weight. */
export function pickMutator(rng: Rng): Mutator {
  let roll = rng.below(TOTAL_WEIGHT);
  for (const mutator of MUTATORS) {
    roll -= mutator.weight;
    if (roll < 0) return mutator;
  }
  return MUTATORS[MUTATORS.length - 1]!;
}
