/**
 * The nodes and filters of the filter conformance suite: every operator on numeric, lexical, mixed, infinite,
 * padded and astral-plane values, regexes, missing facts, facts named like Object.prototype members, classes,
 * agents, identities, compound expressions, collectives and last-seen scopes.
 */
import type { RegistrationFactFilter, RegistrationQuery, RegistrationUpdate } from '../../src/inter/registration.js';

export const NOW = 1_700_000_000_000;

const node = (identity: string, facts: Record<string, string>, classes: string[], agents: string[], extra: Partial<RegistrationUpdate> = {}): RegistrationUpdate => ({
  identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'certificate', agents, classes,
  facts: Object.fromEntries(Object.entries(facts)), collectives: ['mcollective'], time: NOW, ...extra,
});

/** The fleet every backend and the reference matcher see. */
export const NODES: readonly RegistrationUpdate[] = [
  node('web1.example.com', {
    country: 'uk', uptime: '3600', os: 'debian', version: '1.10', memory: ' 2048 ', neg: '-5', float: '2.50', mixed: 'abc',
    big: '1e400', empty: '', unicode: 'é', astral: '\u{1F600}', high: '\uE000', 'net.ips.0': '10.0.0.1', role: 'web',
  }, ['webserver', 'role::web', 'base'], ['rpcutil', 'package', 'service'], { collectives: ['mcollective', 'uk'] }),
  node('web2.example.com', {
    country: 'us', uptime: '120', os: 'debian', version: '1.9', memory: '1024', big: '1e999', mixed: '100', astral: '\uFFFD',
    high: 'z', unicode: 'e', 'net.ips.0': '10.0.0.2', role: 'web', float: '+2.5e0',
  }, ['webserver', 'base'], ['rpcutil', 'package'], { collectives: ['mcollective', 'us'] }),
  node('db1.example.com', { country: 'uk', uptime: 'unknown', os: 'centos', role: 'db', version: '10', memory: '.5' }, ['database', 'role::db', 'base'], ['rpcutil', 'mysql'], { collectives: ['mcollective', 'uk'] }),
  // Entries, not an object literal: `__proto__: 'x'` in a literal would set a prototype, not a fact.
  node('db2.example.com', Object.fromEntries([
    ['country', 'UK'], ['uptime', '99999'], ['os', 'CentOS'], ['role', 'db'], ['constructor', 'yes'], ['__proto__', 'x'], ['toString', 'str'], ['version', '2.0.1'],
  ]), ['database'], ['rpcutil'], { collectives: ['mcollective', 'uk'] }),
  node('bare', {}, [], ['rpcutil']),
  node('old.example.com', { country: 'uk', uptime: '5', role: 'web' }, ['webserver'], ['rpcutil'], { time: NOW - 3_600_000, collectives: ['other'], collective: 'other' }),
  node('a-b', { country: 'uk' }, [], ['rpcutil']),
  node('a', { country: 'uk' }, [], ['rpcutil']),
];

const f = (fact: string, operator: RegistrationFactFilter['operator'], value: string): RegistrationFactFilter => ({ fact, operator, value });

/** Queries whose answers must agree everywhere. */
export const QUERIES: ReadonlyArray<{ name: string; query: RegistrationQuery }> = [
  ...([
    ['every node', {}],
    ['identity exact', { identity: ['web1.example.com'] }],
    ['identity regex', { identity: ['/^web/'] }],
    ['identities are alternatives', { identity: ['bare', '/^db/'] }],
    ['unknown identity', { identity: ['nosuch'] }],
    ['class exact', { cf_class: ['webserver'] }],
    ['class regex', { cf_class: ['/^role::/'] }],
    ['two classes', { cf_class: ['base', 'database'] }],
    ['agent exact', { agent: ['package'] }],
    ['agent regex', { agent: ['/^(mysql|service)$/'] }],
    ['lexical ==', { fact: [f('country', '==', 'uk')] }],
    ['lexical != (nodes without the fact never match)', { fact: [f('country', '!=', 'uk')] }],
    ['numeric == across spellings', { fact: [f('version', '==', '1.1')] }],
    ['numeric == exponent', { fact: [f('float', '==', '2.5')] }],
    ['numeric !=', { fact: [f('uptime', '!=', '3600')] }],
    ['numeric > with a non-numeric value compared lexically', { fact: [f('uptime', '>', '1000')] }],
    ['numeric <=', { fact: [f('uptime', '<=', '120')] }],
    ['numeric < negative', { fact: [f('neg', '<', '0')] }],
    ['padded numeric value', { fact: [f('memory', '>=', '1000')] }],
    ['leading-dot number', { fact: [f('memory', '<', '1')] }],
    ['numeric versus lexical mix >', { fact: [f('mixed', '>', '50')] }],
    ['numeric versus lexical mix <', { fact: [f('mixed', '<', '50')] }],
    ['version numbers compare as numbers where they are numbers', { fact: [f('version', '>', '1.9')] }],
    ['lexical range', { fact: [f('os', '>', 'c')] }],
    ['lexical range on case', { fact: [f('country', '<', 'a')] }],
    ['lexical >= on accents', { fact: [f('unicode', '>=', 'f')] }],
    ['UTF-16 order, not code point order', { fact: [f('astral', '<', '\uE000')] }],
    ['UTF-16 order, other side', { fact: [f('high', '>', '\u{1F600}')] }],
    ['infinity never equals infinity (NaN)', { fact: [f('big', '==', '1e999')] }],
    ['infinity differs from infinity (NaN)', { fact: [f('big', '!=', '1e999')] }],
    ['infinity above a number', { fact: [f('big', '>', '1e300')] }],
    ['a bound that is infinite', { fact: [f('uptime', '<', '1e999')] }],
    ['empty value', { fact: [f('empty', '==', '')] }],
    ['regex =~', { fact: [f('os', '=~', 'deb')] }],
    ['regex =~ case-insensitive', { fact: [f('os', '=~', '/^CENT/i')] }],
    ['== with a /regex/ value', { fact: [f('country', '==', '/^u/')] }],
    ['!= with a /regex/ value', { fact: [f('country', '!=', '/^u/')] }],
    ['regex on a dotted fact', { fact: [f('net.ips.0', '=~', '\\.2$')] }],
    ['fact named constructor', { fact: [f('constructor', '=~', '.')] }],
    ['fact named __proto__', { fact: [f('__proto__', '==', 'x')] }],
    ['fact named toString', { fact: [f('toString', '=~', '.')] }],
    ['fact named hasOwnProperty (no node has it)', { fact: [f('hasOwnProperty', '!=', 'x')] }],
    ['fact named valueOf, numeric bound', { fact: [f('valueOf', '>', '0')] }],
    ['several facts AND', { fact: [f('country', '==', 'uk'), f('role', '==', 'web')] }],
    ['the same fact twice', { fact: [f('uptime', '>', '100'), f('uptime', '<', '5000')] }],
    ['every list at once', { identity: ['/example/'], cf_class: ['base'], agent: ['rpcutil'], fact: [f('country', '=~', '/^u/i')] }],
    ['compound and/or', { compound: ['country=uk and (role::web or /db/)'] }],
    ['compound not (nodes without the fact match)', { compound: ['not country=uk'] }],
    ['compound !', { compound: ['!role=web'] }],
    ['compound fact() syntax', { compound: ["fact('os')=~/deb/ or database"] }],
    ['compound precedence', { compound: ['uptime>1000 and not os=centos or webserver'] }],
    ['compound class regex negated', { compound: ['not /role::/'] }],
    ['compound with a Object.prototype name', { compound: ['country=UK and not constructor=yes'] }],
    ['compound numeric and regex', { compound: ['(memory<2000 or uptime>=3600) and os=~/^d/'] }],
    ['two compounds', { compound: ['base', 'not role=db'] }],
    ['compound with quotes', { compound: ['os="debian" and country!="us"'] }],
    ['compound with every list', { compound: ['os=debian'], cf_class: ['webserver'], identity: ['web2.example.com', 'web1.example.com'] }],
  ] as const).map(([name, filter]) => ({ name, query: { filter } as RegistrationQuery })),
  { name: 'collective', query: { collective: 'uk' } },
  { name: 'collective and filter', query: { collective: 'uk', filter: { fact: [f('country', '==', 'uk')] } } },
  { name: 'seen since', query: { seenSince: NOW - 60_000 } },
  { name: 'seen since with a filter', query: { seenSince: NOW - 60_000, filter: { fact: [f('role', '==', 'web')] } } },
  { name: 'other collective', query: { collective: 'other', filter: { cf_class: ['webserver'] } } },
];
