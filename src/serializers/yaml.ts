/**
 * YAML via js-yaml with a safe schema: the YAML 1.2 core types plus the standard `!!binary` and
 * `!!timestamp` tags. Any other tag (`!ruby/object:...`, `!!js/function`, `!!set`, ...) is refused,
 * aliases are bounded, and output is quoted so YAML 1.1 readers (Ruby's Psych) read strings such
 * as `yes` or `on` back as strings.
 */
import { SerializationError } from '../errors.js';
import { jsYaml } from '../util/lazy-require.js';
import { scanYaml } from './scan-yaml.js';
import type { Serializer, StructureLimits, StructureVerdict } from './serializer.js';
import { checkSerializable, MAX_DEPTH, normalizeDecoded, withoutUndefined } from './values.js';

const FORMAT = 'yaml';

/** What documents may contain: core scalars, sequences, string-keyed maps, binary and timestamps (built on first use). */
let loadSchema: ReturnType<typeof jsYaml>['CORE_SCHEMA'] | undefined;

/** Aliases are legitimate YAML (Ruby emits them for shared objects) but each must stay cheap. */
const MAX_ALIASES = 1000;

/**
 * Without aliases a document has at most one value per character; the allowance on top lets
 * honest documents share a few objects while an alias bomb (`a: &a [*b, *b, ...]`) fails fast.
 */
const ALIAS_EXPANSION_ALLOWANCE = 10_000;

/** js-yaml's messages for its own limits (nesting, aliases, merge keys), as opposed to syntax errors. */
const JS_YAML_LIMIT = /exceeded max[A-Z]\w*/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** yaml: readable, interoperable with MCollective's `yaml` serializer. */
export class YamlSerializer implements Serializer {
  readonly name = FORMAT;

  serialize(value: unknown): Uint8Array {
    const encodable = checkSerializable(FORMAT, value) ? withoutUndefined(value) : value;
    let text: string;
    try {
      const yaml = jsYaml();
      text = yaml.dump(encodable, { schema: yaml.DUMP_SCHEMA, noRefs: true, lineWidth: -1 });
    } catch (error) {
      throw new SerializationError(`${FORMAT}: cannot serialize: ${(error as Error).message}`, { cause: error });
    }
    return Buffer.from(text, 'utf8');
  }

  scan(bytes: Uint8Array, limits: StructureLimits): StructureVerdict {
    return scanYaml(bytes, limits);
  }

  deserialize(bytes: Uint8Array, limits?: StructureLimits): unknown {
    if (!(bytes instanceof Uint8Array)) {
      throw new SerializationError(`${FORMAT}: bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (error) {
      throw new SerializationError(`${FORMAT}: message is not valid UTF-8`, { cause: error });
    }
    let decoded: unknown;
    try {
      const yaml = jsYaml();
      loadSchema ??= yaml.CORE_SCHEMA.withTags(yaml.binaryTag, yaml.timestampTag);
      decoded = yaml.load(text, { schema: loadSchema, maxAliases: MAX_ALIASES, maxDepth: Math.min(limits?.maxDepth ?? MAX_DEPTH, MAX_DEPTH) });
    } catch (error) {
      // js-yaml's message names the problem (e.g. "unknown mapping tag !<!ruby/object:Foo> (1:4)").
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      throw new SerializationError(`${FORMAT}: cannot decode: ${reason}`, { cause: error, limitExceeded: JS_YAML_LIMIT.test(reason) });
    }
    const maxNodes = text.length + 1 + ALIAS_EXPANSION_ALLOWANCE;
    if (!limits) return normalizeDecoded(FORMAT, decoded, { maxNodes });
    return normalizeDecoded(FORMAT, decoded, { maxNodes: Math.min(maxNodes, limits.maxItems), maxDepth: limits.maxDepth });
  }
}
