/**
 * The outer hashes of protocol version 1 (security/base.rb create_request / create_reply, aes_security.rb): which
 * Symbol keys each kind has, how each value is checked, and MCollective's filter (String keys, Symbol-keyed fact
 * entries, the extra "collective" entry discovery adds) in both directions.
 */
import { MalformedMessageError } from '../../../../src/errors.js';
import { isName, type NameKind } from '../../../../src/names.js';
import type { FactOperator } from '../../../../src/inter/message.js';
import { RubyHash, RubySymbol, fromPlain, inspect, strHash, symHash, toPlain, type RubyValue } from './ruby-values.js';

/** Longest TTL accepted (a week, as version 2). */
export const MAX_TTL = 86400 * 7;
/** Longest `:sslpubkey` accepted. */
const MAX_PEM = 16384;

/** Symbol keys of a request's outer hash, in the order Ruby writes them; `sslpubkey` is optional. */
export const REQUEST_KEYS = ['body', 'senderid', 'requestid', 'filter', 'collective', 'agent', 'callerid', 'ttl', 'msgtime', 'sslkey', 'sslpubkey'] as const;
/** Symbol keys of a reply's outer hash, in the order Ruby writes them. */
export const REPLY_KEYS = ['senderid', 'requestid', 'senderagent', 'msgtime', 'body', 'sslkey'] as const;

/** A fact condition as MCollective writes it: `{:fact=>, :value=>, :operator=>}`. */
export interface V1FactFilter {
  fact: string;
  value: string;
  operator: FactOperator;
}

/** MCollective's filter. `compound` keeps Ruby's parsed form (Arrays of String-keyed Hashes), as plain data. */
export interface V1Filter {
  fact: V1FactFilter[];
  cf_class: string[];
  agent: string[];
  identity: string[];
  compound: unknown[];
  /** Only in discovery requests (`mco ping`, discovery/mc.rb): the collective again. */
  collective?: string;
}

const OPERATORS: ReadonlySet<string> = new Set(['==', '=~', '!=', '<', '>', '<=', '>=']);
const FILTER_LISTS = ['fact', 'cf_class', 'agent', 'identity', 'compound'] as const;

/** Reads the Symbol-keyed outer hash of `kind`: every key known, every required key present. */
export function outerFields(value: RubyValue, kind: 'request' | 'reply'): Map<string, RubyValue> {
  if (!(value instanceof RubyHash)) throw new MalformedMessageError(`version 1 ${kind}: the message is ${describe(value)}, not a Hash`);
  const allowed: readonly string[] = kind === 'request' ? REQUEST_KEYS : REPLY_KEYS;
  const fields = new Map<string, RubyValue>();
  for (const [key, item] of value.entries()) {
    if (!(key instanceof RubySymbol) || !allowed.includes(key.name)) {
      throw new MalformedMessageError(`version 1 ${kind}: unexpected key ${inspect(key).slice(0, 60)} (allowed: ${allowed.map((k) => `:${k}`).join(' ')})`);
    }
    fields.set(key.name, item);
  }
  for (const key of allowed) {
    if (key !== 'sslpubkey' && !fields.has(key)) throw new MalformedMessageError(`version 1 ${kind}: :${key} is missing`);
  }
  return fields;
}

/** A short description of a value for error messages. */
export function describe(value: RubyValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = inspect(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/** `:key` as a name of `kind` (src/names.ts), or MalformedMessageError naming the key. */
export function nameField(fields: Map<string, RubyValue>, key: string, kind: NameKind, where: string): string {
  const value = fields.get(key);
  if (!isName(kind, value)) throw new MalformedMessageError(`${where} :${key} is not a valid ${kind}: ${describe(value)}`);
  return value;
}

/** `:key` as an Integer within [min, max]. */
export function integerField(fields: Map<string, RubyValue>, key: string, min: number, max: number, where: string): number {
  const value = fields.get(key);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MalformedMessageError(`${where} :${key} must be an Integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** `:key` as a String of at most `max` characters. */
export function stringField(fields: Map<string, RubyValue>, key: string, max: number, where: string): string {
  const value = fields.get(key);
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new MalformedMessageError(`${where} :${key} must be a String of 1 to ${max} characters, got ${describe(value)}`);
  }
  return value;
}

/** The optional `:sslpubkey` PEM. */
export function pubkeyField(fields: Map<string, RubyValue>, where: string): string | undefined {
  if (!fields.has('sslpubkey')) return undefined;
  const pem = stringField(fields, 'sslpubkey', MAX_PEM, where);
  if (!pem.includes('-----BEGIN ')) throw new MalformedMessageError(`${where} :sslpubkey is not PEM`);
  return pem;
}

function stringList(value: RubyValue | undefined, kind: NameKind | null, what: string): string[] {
  if (!Array.isArray(value)) throw new MalformedMessageError(`version 1 filter "${what}" must be an Array, got ${describe(value)}`);
  return value.map((item) => {
    if (typeof item !== 'string' || item.length === 0 || item.length > 1024) {
      throw new MalformedMessageError(`version 1 filter "${what}" holds ${describe(item)}, not a String`);
    }
    // Identities and classes may be /regex/ patterns; agent names must be names.
    if (kind !== null && !isName(kind, item)) throw new MalformedMessageError(`version 1 filter "${what}" holds ${describe(item)}, not a valid ${kind}`);
    return item;
  });
}

function factEntry(value: RubyValue): V1FactFilter {
  const hash = value instanceof RubyHash ? value : null;
  const get = (key: string): RubyValue | undefined => hash?.getSym(key);
  const fact = get('fact');
  const factValue = get('value');
  const operator = get('operator');
  if (hash === null || hash.size !== 3 || typeof fact !== 'string' || !isName('fact', fact) || typeof factValue !== 'string' || typeof operator !== 'string' || !OPERATORS.has(operator)) {
    throw new MalformedMessageError(`version 1 filter "fact" entry must be {:fact=>name, :value=>String, :operator=>one of == =~ != < > <= >=}, got ${describe(value)}`);
  }
  return { fact, value: factValue, operator: operator as FactOperator };
}

/** Reads MCollective's filter Hash: String keys, each list checked, fact entries with Symbol keys. */
export function parseFilter(value: RubyValue | undefined): V1Filter {
  if (!(value instanceof RubyHash)) throw new MalformedMessageError(`version 1 request :filter must be a Hash, got ${describe(value)}`);
  for (const key of value.keys()) {
    if (typeof key !== 'string' || !([...FILTER_LISTS, 'collective'] as string[]).includes(key)) {
      throw new MalformedMessageError(`version 1 filter has an unexpected key ${describe(key)} (allowed: "fact" "cf_class" "agent" "identity" "compound" "collective")`);
    }
  }
  const list = (key: (typeof FILTER_LISTS)[number]): RubyValue | undefined => (value.has(key) ? value.get(key) : []);
  const facts = list('fact');
  if (!Array.isArray(facts)) throw new MalformedMessageError(`version 1 filter "fact" must be an Array, got ${describe(facts)}`);
  const compound = list('compound');
  if (!Array.isArray(compound)) throw new MalformedMessageError(`version 1 filter "compound" must be an Array, got ${describe(compound)}`);
  const filter: V1Filter = {
    fact: facts.map(factEntry),
    cf_class: stringList(list('cf_class'), null, 'cf_class'),
    agent: stringList(list('agent'), 'agent', 'agent'),
    identity: stringList(list('identity'), null, 'identity'),
    compound: toPlain(compound) as unknown[],
  };
  if (value.has('collective')) {
    const collective = value.get('collective');
    if (!isName('collective', collective)) throw new MalformedMessageError(`version 1 filter "collective" is not a valid collective: ${describe(collective)}`);
    filter.collective = collective;
  }
  return filter;
}

/** Writes a filter as Ruby does: String keys in Ruby's order, fact entries with Symbol keys, "collective" last. */
export function filterToRuby(filter: V1Filter): RubyHash {
  const hash = strHash({
    fact: filter.fact.map((f) => symHash({ fact: f.fact, value: f.value, operator: f.operator })),
    cf_class: [...filter.cf_class],
    agent: [...filter.agent],
    identity: [...filter.identity],
    compound: fromPlain(filter.compound, 'string') as RubyValue[],
  });
  if (filter.collective !== undefined) hash.set('collective', filter.collective);
  return hash;
}
