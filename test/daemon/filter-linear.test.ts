/**
 * Filter regexes run on a linear-time engine (issue 8, item 3): catastrophic patterns return, backtracking-only
 * constructs are refused with a message naming the pattern and the construct, and sizes are bounded before
 * anything is compiled.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileCompound, compileFilter, compileLinearRegex, matchFilter, MAX_CLASS_RANGES, MAX_FILTER_CLASS_RANGES,
  MAX_FILTER_PROGRAM_SIZE, MAX_FILTER_REGEXES, MAX_PROGRAM_SIZE, MAX_REPORTED_PROBLEMS, parseFactFilter, validateRequestFilter,
} from '../../src/filter/index.js';
import { parsePolicy } from '../../src/authz/index.js';
import { FilterSyntaxError } from '../../src/errors.js';
import { filter } from './helpers.js';

/** The pattern and two more that take seconds per 16 characters with RegExp (exponential backtracking). */
const CATASTROPHIC = ['^((.*)*)*x$', '^(([a-z0-9.]+)+)+!$', '^(.*.*)*!$'];

// 40 characters: a backtracking engine would need longer than the age of the universe for each of these.
const longName = 'frontend-node-0001.eu-west.example.net.a';
const node = {
  identity: longName,
  facts: { fqdn: longName, role: 'web', motd: 'Welcome, élan vital' },
  classes: [longName, 'webserver'],
  agents: ['rpcutil', longName.replace(/[^a-z]/g, '')],
};

/** Sources of every RegExp#exec call made while `run` runs: the backtracking engine's entry point. */
function backtrackingCalls(run: () => void): string[] {
  const sources: string[] = [];
  const original = RegExp.prototype.exec;
  RegExp.prototype.exec = function exec(this: RegExp, text: string) {
    sources.push(this.source);
    return original.call(this, text);
  };
  try {
    run();
  } finally {
    RegExp.prototype.exec = original;
  }
  return sources;
}

describe('catastrophic patterns are evaluated by the linear-time engine', () => {
  for (const pattern of CATASTROPHIC) {
    test(`/${pattern}/ in every filter kind returns, with the right answer`, () => {
      const filters = [
        filter({ identity: [`/${pattern}/`] }),
        filter({ cf_class: [`/${pattern}/i`] }),
        filter({ agent: [`/${pattern}/`] }),
        filter({ fact: [{ fact: 'fqdn', operator: '=~', value: pattern }] }),
        filter({ fact: [{ fact: 'fqdn', operator: '==', value: `/${pattern}/` }] }),
        filter({ compound: [`fqdn=~/${pattern}/ or /${pattern}/`] }),
      ];
      const calls = backtrackingCalls(() => {
        for (const f of filters) assert.equal(matchFilter(f, node), false, JSON.stringify(f));
        // `!=` with a regex value is the negation: it matches, so the whole input was scanned.
        assert.equal(matchFilter(filter({ fact: [{ fact: 'fqdn', operator: '!=', value: `/${pattern}/` }] }), node), true);
      });
      assert.deepEqual(calls.filter((source) => source.includes(pattern.slice(1, 6))), [], 'no filter pattern reached RegExp');
    });
  }

  test('the engine still finds matches in long input (not a refusal in disguise)', () => {
    assert.equal(matchFilter(filter({ identity: ['/^((.*)*)*a$/'] }), node), true);
    assert.equal(matchFilter(filter({ fact: [{ fact: 'fqdn', operator: '=~', value: '^(([a-z0-9.-]+)+)+$' }] }), node), true);
    assert.equal(compileLinearRegex('^(.*.*)*\\.a$', '', 'test').test(longName.repeat(100)), true);
  });
});

describe('JavaScript pattern syntax and semantics are kept', () => {
  const cases: [string, string, string, boolean][] = [
    ['^web\\d+$', '', 'web12', true],
    ['^web\\d+$', '', 'web12x', false],
    ['RED', 'i', 'redhat', true],
    ['RED', '', 'redhat', false],
    ['\\u00e9lan', '', 'élan', true],
    ['a[^]b', '', 'a\nb', true],
    ['(?<word>\\w+)-\\d', '', 'node-1', true],
    ['^a\\/b$', '', 'a/b', true],
    ['\\bvital$', '', 'élan vital', true],
    ['^\\s*x', '', '  x', true],
    ['^$', '', '', true],
    ['a{2,3}', '', 'caab', true],
    ['\\x41', '', 'A', true],
    ['\\cJ', '', '\n', true],
  ];
  for (const [source, flags, text, expected] of cases) {
    test(`/${source}/${flags} on ${JSON.stringify(text)} is ${expected}, as RegExp says`, () => {
      assert.equal(new RegExp(source, flags).test(text), expected, 'the case itself is what RegExp answers');
      assert.equal(compileLinearRegex(source, flags, 'test').test(text), expected);
    });
  }

  test('the documented differences from RegExp: \\s is [\\t\\n\\f\\r ], . excludes only \\n', () => {
    const space = compileLinearRegex('\\s', '', 't');
    assert.deepEqual(['\t', '\n', '\f', '\r', ' ', '\v', '\u00a0'].map((text) => space.test(text)), [true, true, true, true, true, false, false]);
    const any = compileLinearRegex('^.$', '', 't');
    assert.deepEqual(['\n', '\r', '\u2028', 'x'].map((text) => any.test(text)), [false, true, true, true]);
  });

  test('a compiled regex reports its source and flags, and holds no state between calls (unlike /g RegExp)', () => {
    const regex = compileLinearRegex('b', 'i', 'test');
    assert.deepEqual([regex.source, regex.flags], ['b', 'i']);
    assert.deepEqual([regex.test('aB'), regex.test('aB'), regex.test('x')], [true, true, false]);
  });
});

describe('patterns that need backtracking are refused, naming the pattern and the construct', () => {
  const refused: [string, RegExp][] = [
    ['(a)\\1', /uses a backreference "\\1"/],
    ['(?<n>a)\\k<n>', /uses a named backreference "\\k<\.\.\.>"/],
    ['web(?=\\d)', /uses a lookahead "\(\?=\.\.\.\)"/],
    ['web(?!db)', /uses a negative lookahead "\(\?!\.\.\.\)"/],
    ['(?<=a)b', /uses a lookbehind "\(\?<=\.\.\.\)"/],
    ['(?<!a)b', /uses a negative lookbehind "\(\?<!\.\.\.\)"/],
  ];
  for (const [source, construct] of refused) {
    test(`/${source}/`, () => {
      assert.throws(() => compileLinearRegex(source, '', 'filter.identity[0]'), (error: unknown) =>
        error instanceof FilterSyntaxError && error.code === 'TSC_FILTER_SYNTAX' && construct.test(error.message)
        && error.message.startsWith('filter.identity[0]: ') && error.message.includes(JSON.stringify(`/${source}/`))
        && /linear-time regex engine/.test(error.message));
    });
  }

  test('escapes and character classes are read as JavaScript reads them', () => {
    assert.equal(compileLinearRegex('[(?=]x', '', 't').test('=x'), true, '"(?=" inside a class is three characters');
    assert.equal(compileLinearRegex('\\(?=x', '', 't').test('=x'), true, 'an escaped "(" opens no group');
    assert.equal(compileLinearRegex('[]a(?:b)', '', 't').test('ab'), false, '[] is an empty class in JavaScript');
    assert.equal(compileLinearRegex('[^](?:b)', '', 't').test('ab'), true);
    assert.throws(() => compileLinearRegex('[^](?=b)', '', 't'), /lookahead/, 'the class closed, so the lookahead is outside it');
  });

  test('every filter kind refuses them on the node, listing each problem', () => {
    const problems = validateRequestFilter(filter({
      identity: ['/(a)\\1/'],
      cf_class: ['/(?=x)/'],
      agent: ['/(?<!x)y/'],
      fact: [{ fact: 'role', operator: '=~', value: '(?!db)' }, { fact: 'role', operator: '!=', value: '/(w)\\1/' }],
      compound: ['role=web and fqdn=~/(?<=a)b/', '/(x)\\1/i or web'],
    }));
    assert.equal(problems.length, 7);
    for (const [index, where] of ['filter.identity[0]', 'filter.cf_class[0]', 'filter.agent[0]', 'filter.fact[0]', 'filter.fact[1]', 'filter.compound[0]', 'filter.compound[1]'].entries()) {
      assert.ok(problems[index]!.startsWith(where), `${where}: ${problems[index]}`);
      assert.match(problems[index]!, /which the linear-time regex engine \(RE2 syntax\) does not support/);
    }
    assert.throws(() => compileFilter(filter({ identity: ['/(a)\\1/'] })), FilterSyntaxError);
  });

  test('client-side parsers and policies refuse them at parse time', () => {
    assert.throws(() => parseFactFilter('role=~/web(?=1)/'), /fact filter "role=~\/web\(\?=1\)\/": fact role: regular expression .* uses a lookahead/);
    assert.throws(() => compileCompound('/(a)\\1/'), /backreference/);
    assert.throws(() => parsePolicy('allow\t*\t*\trole=~/(?<=x)y/\t*\n', 'p.policy'), /p\.policy:1: .*lookbehind/);
  });

  test('other invalid patterns name the pattern and RE2\'s reason', () => {
    assert.throws(() => compileLinearRegex('(', '', 'where'), /where: invalid regular expression "\/\(\/": missing closing \)/);
    assert.throws(() => compileLinearRegex('a**', '', 'where'), /where: invalid regular expression "\/a\*\*\/": invalid nested repetition operator/);
    assert.throws(() => compileLinearRegex('x', 'g', 'where'), /flags may only be i/);
    assert.throws(() => compileLinearRegex('x', 'ii', 'where'), /flags may only be i/);
    assert.throws(() => compileLinearRegex('', '', 'where'), /where: empty regular expression/);
  });
});

describe('sizes are bounded before work grows with them', () => {
  test('a pattern longer than 256 characters is refused without showing all of it', () => {
    assert.throws(() => compileLinearRegex('a'.repeat(257), '', 'where'), (error: Error) =>
      /longer than 256 characters \(257\)/.test(error.message) && !error.message.includes('a'.repeat(100)));
    assert.equal(compileLinearRegex('a'.repeat(256), '', 'where').test('a'.repeat(256)), true, 'the longest literal is not "too complex"');
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const alternatives = Array.from({ length: 83 }, (_, i) => `${chars[i % 36]}${chars[(i * 7 + 3) % 36]}`);
    assert.equal(compileLinearRegex(`^(?:${alternatives.join('|')})$`, '', 'where').test(alternatives.at(-1)!), true, 'nor a long alternation');
  });

  test(`a pattern compiling to more than ${MAX_PROGRAM_SIZE} instructions is refused`, () => {
    assert.throws(() => compileLinearRegex('\\pL{1000}', '', 'where'), new RegExp(`is too complex \\(1002 instructions, at most ${MAX_PROGRAM_SIZE};`));
    assert.throws(() => compileLinearRegex('[a-z]{300}', 'i', 'where'), /too complex/);
    assert.equal(compileLinearRegex('[a-z]{290}', 'i', 'where').programSize <= MAX_PROGRAM_SIZE, true);
    assert.throws(() => compileLinearRegex('(a{100}){100}', '', 'where'), /invalid repeat count/);
    assert.equal(compileLinearRegex('^[a-z0-9-]{1,63}$', '', 'where').test('web-01'), true, 'an honest counted repetition fits');
  });

  test(`a filter with more than ${MAX_FILTER_REGEXES} regexes is refused before any is compiled`, () => {
    const many = Array.from({ length: MAX_FILTER_REGEXES }, (_, i) => `/n${i}/`);
    assert.deepEqual(validateRequestFilter(filter({ identity: many })), []);
    // One more, spread over kinds and hidden in a compound expression; the invalid /(/ is never compiled.
    const problems = validateRequestFilter(filter({ identity: [...many.slice(1), '/(/'], compound: ['web or /x/'] }));
    assert.deepEqual(problems, [`filter: ${MAX_FILTER_REGEXES + 1} regular expressions, at most ${MAX_FILTER_REGEXES} are accepted in one filter`]);
  });

  test(`a pattern holding more than ${MAX_CLASS_RANGES} character ranges is refused`, () => {
    // The counts are re2js's: they pin the layout classRanges() reads, so a change there fails here.
    assert.deepEqual(['[a-c]', 'abc', '[^a]', '\\w+', 'a'.repeat(256)].map((source) => compileLinearRegex(source, '', 'w').classRanges), [1, 3, 2, 4, 256]);
    assert.equal(compileLinearRegex('\\pL', '', 'w').classRanges > 600, true, 'a Unicode property class holds hundreds of ranges');
    assert.equal(compileLinearRegex('^\\pL+$', 'i', 'w').test('Élan'), true, 'and one is accepted');
    assert.throws(() => compileLinearRegex('[\\p{L}\\p{N}]{10}', 'i', 'where'), (error: Error) =>
      new RegExp(`is too complex \\(\\d+ character ranges, at most ${MAX_CLASS_RANGES};`).test(error.message));
  });

  test('a filter whose regexes are too complex together is refused before matching, and compiling stops', () => {
    const long = '/^[a-z]{200}$/';
    assert.equal(compileLinearRegex('^[a-z]{200}$', '', 'w').programSize * 3 > MAX_FILTER_PROGRAM_SIZE, true, 'three exceed the instruction budget');
    assert.deepEqual(validateRequestFilter(filter({ identity: [long, long] })), []);
    const refusal = `filter: its regular expressions are too complex together (more than ${MAX_FILTER_PROGRAM_SIZE} instructions or ${MAX_FILTER_CLASS_RANGES} character ranges); use fewer or simpler patterns`;
    // Compiling stops at the third; the later invalid pattern is never compiled, so only the budget is reported.
    assert.deepEqual(validateRequestFilter(filter({ identity: [long, long], cf_class: [long], fact: [{ fact: 'x', operator: '=~', value: '(' }] })), [refusal]);
    assert.throws(() => compileFilter(filter({ compound: [`${long} and ${long} and ${long}`] })), /too complex together/);
    const wide = '/[\\p{L}\\p{N}]{3}/i';
    assert.equal(compileLinearRegex('[\\p{L}\\p{N}]{3}', 'i', 'w').classRanges * 4 > MAX_FILTER_CLASS_RANGES, true, 'four exceed the range budget');
    assert.deepEqual(validateRequestFilter(filter({ cf_class: [wide, wide, wide] })), []);
    assert.deepEqual(validateRequestFilter(filter({ cf_class: [wide, wide, wide], fact: [{ fact: 'x', operator: '==', value: wide }] })), [refusal]);
  });

  test('plain names do not count: a directed request may name many nodes', () => {
    const targets = Array.from({ length: 5000 }, (_, i) => `node${i}`);
    assert.equal(matchFilter(filter({ identity: targets }), { ...node, identity: 'node4999' }), true);
  });

  test('problems quote wire input cut short, so a report does not grow with the filter', () => {
    const huge = 'x'.repeat(1_000_000);
    const problems = validateRequestFilter({
      ...filter({ identity: [`/${huge}(/`], compound: [`${'y'.repeat(4000)} or ${'/'}`] }),
      fact: Array.from({ length: 20 }, () => ({ fact: `${huge}!`, operator: huge, value: 'v' })),
    });
    assert.equal(problems.length, MAX_REPORTED_PROBLEMS + 1);
    assert.ok(problems.join('\n').length < 4000, `report of ${problems.join('\n').length} characters`);
    assert.deepEqual(validateRequestFilter({ ...filter(), fact: [{ fact: 'x', operator: { nested: huge }, value: 'v' }] }), ['filter.fact[0]: operator a value of type object is not one of == =~ != < > <= >=']);
  });

  test(`at most ${MAX_REPORTED_PROBLEMS} problems are listed, the rest counted`, () => {
    const problems = validateRequestFilter(filter({ fact: Array.from({ length: 1000 }, () => ({ fact: 'x', operator: '===', value: 'y' })) as never }));
    assert.equal(problems.length, MAX_REPORTED_PROBLEMS + 1);
    assert.equal(problems.at(-1), `and ${1000 - MAX_REPORTED_PROBLEMS} more problem(s)`);
  });
});

describe('the regex helper is the only RegExp-free path for input patterns', () => {
  let original: RegExpConstructor;
  before(() => { original = globalThis.RegExp; });
  after(() => { globalThis.RegExp = original; });

  test('compiling a filter never constructs a RegExp from its patterns', () => {
    const constructed: string[] = [];
    globalThis.RegExp = new Proxy(original, {
      construct(target, args: [string | RegExp, string?]) {
        constructed.push(String(args[0]));
        return new target(...args);
      },
      apply(target, _this, args: [string | RegExp, string?]) {
        constructed.push(String(args[0]));
        return target(...args);
      },
    });
    try {
      compileFilter(filter({ identity: ['/uniq-a1/'], cf_class: ['/uniq-b2/'], fact: [{ fact: 'f', operator: '=~', value: 'uniq-c3' }], compound: ['/uniq-d4/ or f=/uniq-e5/'] }))(node);
    } finally {
      globalThis.RegExp = original;
    }
    assert.deepEqual(constructed.filter((source) => source.includes('uniq-')), []);
  });
});
