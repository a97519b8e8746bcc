/** Filter parsing (for the client) and matching (for the daemon). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCompound, compileFilter, matchFilter, parseCompound, parseFactFilter, validateRequestFilter } from '../../src/filter/index.js';
import { FilterSyntaxError } from '../../src/errors.js';
import { filter } from './helpers.js';

const web = { identity: 'web1.example.net', facts: { country: 'uk', role: 'web', uptime: '7200', version: '10', 'os.family': 'debian' }, classes: ['webserver', 'base'], agents: ['rpcutil', 'service'] };

describe('parseFactFilter', () => {
  test('every operator, MCollective spellings, regex values and quotes', () => {
    assert.deepEqual(parseFactFilter('country=uk'), { fact: 'country', operator: '==', value: 'uk' });
    assert.deepEqual(parseFactFilter('country==uk'), { fact: 'country', operator: '==', value: 'uk' });
    assert.deepEqual(parseFactFilter('os=/deb/'), { fact: 'os', operator: '=~', value: '/deb/' });
    assert.deepEqual(parseFactFilter('os=~deb'), { fact: 'os', operator: '=~', value: 'deb' });
    assert.deepEqual(parseFactFilter('uptime >= 10'), { fact: 'uptime', operator: '>=', value: '10' });
    assert.deepEqual(parseFactFilter('uptime=>10'), { fact: 'uptime', operator: '>=', value: '10' });
    assert.deepEqual(parseFactFilter('uptime=<10'), { fact: 'uptime', operator: '<=', value: '10' });
    assert.deepEqual(parseFactFilter('uptime<10'), { fact: 'uptime', operator: '<', value: '10' });
    assert.deepEqual(parseFactFilter('uptime>10'), { fact: 'uptime', operator: '>', value: '10' });
    assert.deepEqual(parseFactFilter('role!=db'), { fact: 'role', operator: '!=', value: 'db' });
    assert.deepEqual(parseFactFilter('motd="hello world"'), { fact: 'motd', operator: '==', value: 'hello world' });
  });

  test('clear errors for malformed filters', () => {
    assert.throws(() => parseFactFilter('country'), (e: unknown) => e instanceof FilterSyntaxError && /expected fact<op>value/.test(e.message));
    assert.throws(() => parseFactFilter('country='), /missing value/);
    assert.throws(() => parseFactFilter('os=~/(/'), /invalid regular expression/);
    assert.throws(() => parseFactFilter('a b=c'), FilterSyntaxError);
  });
});

describe('parseCompound', () => {
  test('precedence: not, then and, then or; parentheses group', () => {
    assert.deepEqual(parseCompound('a or b and not c'), {
      kind: 'or',
      left: { kind: 'class', name: 'a' },
      right: { kind: 'and', left: { kind: 'class', name: 'b' }, right: { kind: 'not', operand: { kind: 'class', name: 'c' } } },
    });
    assert.deepEqual(parseCompound('(a or b) and !c').kind, 'and');
  });

  test("statements: fact<op>value, fact('x')<op>value, /regex/ classes, bare classes", () => {
    assert.deepEqual(parseCompound("fact('country')=uk"), { kind: 'fact', fact: 'country', operator: '==', value: 'uk' });
    assert.deepEqual(parseCompound('os.family=~/^deb/'), { kind: 'fact', fact: 'os.family', operator: '=~', value: '/^deb/' });
    assert.deepEqual(parseCompound('/web/'), { kind: 'class', name: '/web/' });
  });

  test('syntax errors name the problem and its offset', () => {
    assert.throws(() => parseCompound('country=uk and ('), /expected a statement, "\(" or "not", found end of expression/);
    assert.throws(() => parseCompound('(country=uk'), /expected "\)" to close "\(" at offset 0/);
    assert.throws(() => parseCompound('country=uk role=web'), /unexpected "role=web" at offset 11/);
    assert.throws(() => parseCompound('and web'), /found "and" at offset 0/);
    assert.throws(() => parseCompound(''), /empty expression/);
    assert.throws(() => parseCompound('/unterminated'), /unterminated \/regex\//);
    assert.throws(() => parseCompound('we$b'), /neither fact<op>value, \/regex\/ nor a class name/);
  });

  test('the MCollective -S example evaluates as expected', () => {
    const test = compileCompound('country=uk and (role=web or /db/) and not environment=dev');
    assert.equal(test({ facts: { country: 'uk', role: 'web', environment: 'prod' }, classes: [] }), true);
    assert.equal(test({ facts: { country: 'uk', role: 'app', environment: 'prod' }, classes: ['mydb'] }), true);
    assert.equal(test({ facts: { country: 'uk', role: 'web', environment: 'dev' }, classes: [] }), false);
    assert.equal(test({ facts: { country: 'de', role: 'web', environment: 'prod' }, classes: [] }), false);
  });
});

describe('matchFilter', () => {
  test('an empty filter matches every node', () => {
    assert.equal(matchFilter(filter(), web), true);
  });

  test('identity and class entries: exact or /regex/', () => {
    assert.equal(matchFilter(filter({ identity: ['web1.example.net'] }), web), true);
    assert.equal(matchFilter(filter({ identity: ['web1'] }), web), false);
    assert.equal(matchFilter(filter({ identity: ['/^web\\d/'] }), web), true);
    // Several -I entries are alternatives: a node has one identity.
    assert.equal(matchFilter(filter({ identity: ['web1.example.net', 'web2.example.net'] }), web), true);
    assert.equal(matchFilter(filter({ identity: ['db1', '/^web\\d/'] }), web), true);
    assert.equal(matchFilter(filter({ identity: ['db1', 'db2'] }), web), false);
    assert.equal(matchFilter(filter({ cf_class: ['/server$/'] }), web), true);
    assert.equal(matchFilter(filter({ cf_class: ['webserver', 'database'] }), web), false, 'every entry must match');
    assert.equal(matchFilter(filter({ agent: ['service'] }), web), true);
    assert.equal(matchFilter(filter({ agent: ['puppet'] }), web), false);
  });

  test('fact operators compare numerically when both sides are numbers, lexically otherwise', () => {
    const fact = (text: string): boolean => matchFilter(filter({ fact: [parseFactFilter(text)] }), web);
    assert.equal(fact('version>9'), true, '10 > 9 numerically (lexically it is not)');
    assert.equal(fact('version==10.0'), true);
    assert.equal(fact('uptime<=7200'), true);
    assert.equal(fact('uptime<7200'), false);
    assert.equal(fact('role>app'), true, 'web > app lexically');
    assert.equal(fact('role!=db'), true);
    assert.equal(fact('role!=web'), false);
    assert.equal(fact('os.family=~^deb'), true);
    assert.equal(fact('os.family=/RED/i'), false);
    assert.equal(fact('missing!=x'), false, 'a node without the fact never matches');
  });

  test('malformed wire filters are reported, every problem at once', () => {
    const problems = validateRequestFilter({ fact: [{ fact: 'x', operator: '===', value: 'y' }], identity: ['/(/'], compound: [42], agent: 'rpcutil' });
    assert.equal(problems.length, 4);
    assert.match(problems.join('\n'), /filter\.fact\[0\]: operator "==="/);
    assert.match(problems.join('\n'), /filter\.identity\[0\]: .*invalid regular expression/);
    assert.match(problems.join('\n'), /filter\.compound\[0\]: expected a string/);
    assert.match(problems.join('\n'), /filter\.agent: expected a list/);
    assert.throws(() => compileFilter({ ...filter(), identity: ['/(/'] }), FilterSyntaxError);
    assert.throws(() => compileFilter({ ...filter(), identity: [`/${'a'.repeat(300)}/`] }), /longer than 256/);
  });
});
