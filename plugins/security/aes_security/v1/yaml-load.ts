/**
 * Reads YAML as Ruby's `YAML.safe_load(text, [Symbol])` does for MCollective messages, with js-yaml and a schema that
 * knows only what such messages hold: plain scalars resolved the way Psych resolves them (so `:agent` is a Symbol and
 * `yes` is true, while `':agent'` and `'yes'` stay Strings), `!ruby/symbol`, `!binary`, `!!str`, sequences, and
 * mappings whose keys keep their Ruby class. Any other tag (`!ruby/object:…`, `!ruby/hash:…`, `!ruby/regexp`, …),
 * dates and times, aliases (as Ruby's safe_load), merge keys and duplicate keys are refused.
 *
 * Bounds: the size and the characters are checked before parsing (YAML forbids most control characters, and so does
 * Ruby's parser); js-yaml bounds nesting (coarsely) and aliases while parsing; the value count, alias expansions
 * included, and the exact nesting depth are checked before anything else looks at the result.
 */
import type { Event, Schema } from 'js-yaml';
import { MalformedMessageError } from '../../../../src/errors.js';
import { jsYaml } from '../../../../src/util/lazy-require.js';
import type { V1Limits } from './limits.js';
import { psychTokenize } from './psych-scalar.js';
import { RubyHash, RubySymbol, isRubyKey, type RubyValue } from './ruby-values.js';

/** MCollective's `YAML.safe_load(msg, [Symbol, Regexp])` allows no aliases; neither does this reader. */
const MAX_ALIASES = 0;

/**
 * libyaml reads a scalar tagged with the non-specific `!` as an implicit plain scalar, so Psych resolves it like an
 * untagged one: Ruby writes a Symbol that cannot stand plain as `! ':with: colon'` and a nil key as `! ''`. js-yaml
 * reads `!` as "string"; the loader re-tags such scalars with this tag to get Ruby's reading.
 */
const NON_SPECIFIC = 'tag:tscollective,2025:psych-non-specific';

let psychSchema: Schema | undefined;

/** The schema that reads YAML as Psych does (built with js-yaml on the first version 1 YAML message). */
function schema(): Schema {
  psychSchema ??= buildSchema();
  return psychSchema;
}

function buildSchema(): Schema {
  const yaml = jsYaml();
  const { Schema, defineMappingTag, defineScalarTag, seqTag, strTag } = yaml;
  const plainTag = defineScalarTag<RubyValue>('tag:tscollective,2025:psych-plain', {
    implicit: true,
    resolve: (source, isExplicit) => {
      if (isExplicit) return yaml.NOT_RESOLVED;
      if (source === '<<') throw new MalformedMessageError('YAML: merge keys (<<) are not allowed');
      return psychTokenize(source);
    },
    identify: () => false,
  });

  const nonSpecificTag = defineScalarTag<RubyValue>(NON_SPECIFIC, { resolve: (source) => psychTokenize(source), identify: () => false });

  const symbolTag = (name: string) => defineScalarTag<RubySymbol>(name, { resolve: (source) => new RubySymbol(source), identify: () => false });

  const binaryTag = (name: string) => defineScalarTag<Uint8Array>(name, {
    resolve: (source) => {
      const compact = source.replace(/[ \t\r\n]/g, '');
      if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return yaml.NOT_RESOLVED;
      return new Uint8Array(Buffer.from(compact, 'base64'));
    },
    identify: () => false,
  });

  const hashTag = defineMappingTag<RubyHash>('tag:yaml.org,2002:map', {
    create: () => new RubyHash(),
    addPair: (hash, key, value) => {
      if (!isRubyKey(key)) return 'a Hash key must be nil, a boolean, a number, a String or a Symbol';
      return hash.add(key, value as RubyValue) ? '' : 'duplicated mapping key';
    },
    has: (hash, key) => isRubyKey(key) && hash.has(key),
    keys: (hash) => hash.keys(),
    get: (hash, key) => (isRubyKey(key) ? hash.get(key) : undefined),
    identify: () => false,
  });

  return new Schema([
    strTag, seqTag, hashTag, plainTag, nonSpecificTag,
    symbolTag('!ruby/symbol'), symbolTag('!ruby/sym'), binaryTag('!binary'), binaryTag('tag:yaml.org,2002:binary'),
  ]);
}

// YAML 1.1 printable characters (tab, line breaks, and no C0/C1 controls, surrogates or U+FFFE/FFFF).
const NOT_PRINTABLE = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Counts values (alias expansions included) within the limit, bounds nesting as the Marshal reader does, refuses cycles. */
function checkShape(value: RubyValue, limits: V1Limits, state: { items: number }, ancestors: object[]): void {
  if (++state.items > limits.maxItems) throw new MalformedMessageError(`YAML: more than ${limits.maxItems} values (aliases counted at each use)`);
  if (Array.isArray(value) || value instanceof RubyHash) {
    if (ancestors.length >= limits.maxDepth) throw new MalformedMessageError(`YAML: nested deeper than ${limits.maxDepth}`);
    if (ancestors.includes(value)) throw new MalformedMessageError('YAML: an alias refers to a collection that contains it (a cycle)');
    ancestors.push(value);
    if (Array.isArray(value)) for (const item of value) checkShape(item, limits, state, ancestors);
    else for (const [, item] of value.entries()) checkShape(item, limits, state, ancestors);
    ancestors.pop();
  }
}

/**
 * A block scalar that is the whole document with an explicit indentation indicator (`--- |2`, which Psych writes for
 * a String starting with a space) is indented from column 0 for libyaml and from column -1 for YAML 1.2: read it the
 * way Ruby wrote it.
 */
function rootBlockIndent(events: Event[], text: string): void {
  const { EVENT_ID, SCALAR_STYLE } = jsYaml();
  const [document, root, end] = events;
  if (document?.type !== EVENT_ID.DOCUMENT || root?.type !== EVENT_ID.SCALAR || end?.type !== EVENT_ID.POP) return;
  if (root.style !== SCALAR_STYLE.LITERAL_BLOCK && root.style !== SCALAR_STYLE.FOLDED_BLOCK) return;
  const header = text.slice(text.lastIndexOf('\n', root.valueStart - 2) + 1, root.valueStart);
  if (/[|>][-+]?[1-9]|[|>][1-9]/.test(header)) root.indent += 1;
}

/** Decodes one YAML document within `limits`; MalformedMessageError says what is wrong. */
export function loadYaml(bytes: Uint8Array, limits: V1Limits): RubyValue {
  if (bytes.length > limits.maxBytes) throw new MalformedMessageError(`YAML document of ${bytes.length} bytes is over the ${limits.maxBytes}-byte limit`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new MalformedMessageError('YAML document is not valid UTF-8');
  }
  const separator = /[\u2028\u2029]/.exec(text);
  if (separator !== null) {
    // YAML 1.1 (Ruby) reads a raw U+2028/U+2029 as a line break, YAML 1.2 (js-yaml) as a character: refuse rather
    // than guess. Ruby writes them raw only in block and single-quoted scalars; tscollective always escapes them.
    throw new MalformedMessageError(`YAML document holds a raw line separator U+${separator[0].codePointAt(0)!.toString(16).toUpperCase()} at ${separator.index}, which YAML 1.1 and 1.2 read differently`);
  }
  const bad = NOT_PRINTABLE.exec(text);
  if (bad !== null) {
    throw new MalformedMessageError(`YAML document holds control character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at ${bad.index} (YAML and Ruby refuse it)`);
  }
  let value: RubyValue;
  try {
    // js-yaml counts a block mapping's value as a level of its own: give it room, checkShape enforces the real depth.
    const { EVENT_ID, constructFromEvents, parseEvents } = jsYaml();
    const events = parseEvents(text, { maxDepth: 2 * limits.maxDepth + 2 });
    // Point every `!`-tagged scalar's tag at a verbatim tag appended after the document (events refer to the
    // source by offsets, so text past the end is never parsed as YAML).
    const source = `${text}!<${NON_SPECIFIC}>`;
    for (const event of events) {
      if (event.type === EVENT_ID.SCALAR && event.tagEnd - event.tagStart === 1 && text[event.tagStart] === '!') {
        event.tagStart = text.length;
        event.tagEnd = source.length;
      }
    }
    rootBlockIndent(events, text);
    const documents = constructFromEvents(events, { source, schema: schema(), maxAliases: MAX_ALIASES });
    if (documents.length !== 1) throw new MalformedMessageError(`YAML: expected one document, found ${documents.length}`);
    value = documents[0] as RubyValue;
  } catch (error) {
    if (error instanceof MalformedMessageError) throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new MalformedMessageError(`YAML: ${reason}`, { cause: error });
  }
  if (value === undefined) throw new MalformedMessageError('YAML document is empty');
  checkShape(value, limits, { items: 0 }, []);
  return value;
}
