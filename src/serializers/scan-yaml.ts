/**
 * A conservative, linear bound on the number of values in a YAML document, computed from its bytes before any
 * parsing. A new node can only start at the beginning of the document or of a line (unless the line opens with a
 * `- ` or `? ` indicator, where the node starts), after a flow indicator (`[`, `{`, `,`), after a `:`, or after a
 * `-` or `?` followed by a space, a line end or a flow indicator; each such position starts at most two nodes (a
 * collection and its first entry, or an implicit key and its null value). So twice the number of those positions bounds the nodes the parser can build, aliases aside (their
 * expansion is bounded while decoding). Characters inside quoted scalars and comments are counted too: the
 * bound only ever overestimates, so a document under it is safe to parse, and a refusal costs one pass over at
 * most the bytes read until the bound passed the limit. Nesting depth is bounded by the parser itself
 * (js-yaml's maxDepth stops at the limit, before going deeper).
 */
import type { StructureLimits, StructureVerdict } from './serializer.js';

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const OPEN_SEQUENCE = 0x5b;
const OPEN_MAP = 0x7b;
const COLON = 0x3a;
const DASH = 0x2d;
const QUESTION = 0x3f;

/** Whether the byte after an indicator makes it one (space, tab, line end, flow indicator, end of input). */
function endsIndicator(next: number | undefined): boolean {
  return next === undefined || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d || next === COMMA || next === 0x5d || next === 0x7d;
}

/** Bounds the number of values of the YAML document in `bytes`. */
export function scanYaml(bytes: Uint8Array, limits: StructureLimits): StructureVerdict {
  // Positions where a node may start; the document start is one.
  let starts = 1;
  const maxStarts = Math.floor(limits.maxItems / 2);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === NEWLINE) {
      // A line that opens with "- " or "? " starts its node at that indicator, which is counted when reached.
      let next = i + 1;
      while (bytes[next] === 0x20 || bytes[next] === 0x09) next++;
      if ((bytes[next] === DASH || bytes[next] === QUESTION) && endsIndicator(bytes[next + 1])) continue;
      starts++;
    } else if (byte === COMMA || byte === OPEN_SEQUENCE || byte === OPEN_MAP || byte === COLON) {
      starts++;
    } else if ((byte === DASH || byte === QUESTION) && endsIndicator(bytes[i + 1])) {
      starts++;
    } else {
      continue;
    }
    if (starts > maxStarts) {
      return { ok: false, kind: 'limit', reason: `yaml: the first ${i + 1} bytes may already hold more than ${limits.maxItems} values (lines, flow separators and indicators, counted twice)` };
    }
  }
  return { ok: true, items: starts * 2, depth: null };
}
