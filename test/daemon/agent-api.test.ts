/** defineAgent, input validation and command-line input conversion. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInputs, defineAgent, parseInputText } from '../../src/agent/index.js';
import { AgentDefinitionError, InvalidArgumentError } from '../../src/errors.js';

describe('defineAgent', () => {
  test('freezes a valid definition and applies the default timeout', () => {
    const agent = defineAgent({ name: 'demo', version: '1', description: 'd', actions: { go: { description: 'g', handler: () => ({}) } } });
    assert.equal(agent.timeout, 10);
    assert.ok(Object.isFrozen(agent));
  });

  test('lists every problem of a bad definition', () => {
    assert.throws(
      () => defineAgent({ name: 'Bad-Name', version: '', description: 'd', timeout: -1, actions: { 'x y': { description: '', handler: 'no' as never, input: { n: { type: 'int' as never, pattern: /x/ } } } } }),
      (error: unknown) => {
        assert.ok(error instanceof AgentDefinitionError);
        assert.equal(error.code, 'TSC_AGENT_DEFINITION');
        const text = error.problems.join('\n');
        for (const part of ['name:', 'version:', 'timeout:', 'actions.x y: "x y" is not a valid action', 'actions.x y.description', 'actions.x y.handler', 'actions.x y.input.n.type', 'actions.x y.input.n.pattern']) {
          assert.ok(text.includes(part), `mentions ${part}`);
        }
        return true;
      },
    );
  });
});

describe('checkInputs', () => {
  const specs = {
    name: { type: 'string', required: true, pattern: /^[a-z]+$/, maxLength: 8 },
    count: { type: 'integer', min: 1, max: 3, default: 1 },
    mode: { type: 'string', enum: ['fast', 'slow'] },
    verbose: { type: 'boolean' },
    tags: { type: 'list' },
  } as const;

  test('valid data passes with defaults applied', () => {
    assert.deepEqual(checkInputs(specs, { name: 'abc', tags: ['x'] }), { ok: true, values: { name: 'abc', count: 1, tags: ['x'] } });
  });

  test('missing required inputs: status 3', () => {
    assert.deepEqual(checkInputs(specs, {}), { ok: false, statuscode: 3, message: 'missing required input(s): name' });
  });

  test('invalid inputs: status 4 naming each problem', () => {
    for (const [data, text] of [
      [{ name: 'ABC' }, /does not match/],
      [{ name: 'abcdefghij' }, /longer than 8/],
      [{ name: 'a', count: 1.5 }, /expected an integer/],
      [{ name: 'a', count: 4 }, /above the maximum 3/],
      [{ name: 'a', mode: 'medium' }, /not one of "fast", "slow"/],
      [{ name: 'a', verbose: 'yes' }, /expected a boolean/],
      [{ name: 'a', other: 1 }, /not declared/],
    ] as const) {
      const result = checkInputs(specs, data);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.statuscode, 4, JSON.stringify(data));
        assert.match(result.message, text);
      }
    }
    assert.equal((checkInputs(specs, 'text') as { statuscode: number }).statuscode, 4);
  });
});

describe('parseInputText (for the client: key=value arguments)', () => {
  test('converts to the declared type', () => {
    assert.equal(parseInputText('n', { type: 'integer' }, '42'), 42);
    assert.equal(parseInputText('n', { type: 'number' }, '4.5'), 4.5);
    assert.equal(parseInputText('b', { type: 'boolean' }, 'yes'), true);
    assert.equal(parseInputText('b', { type: 'boolean' }, '0'), false);
    assert.deepEqual(parseInputText('l', { type: 'list' }, 'a, b,c'), ['a', 'b', 'c']);
    assert.deepEqual(parseInputText('l', { type: 'list' }, '[1,2]'), [1, 2]);
    assert.deepEqual(parseInputText('h', { type: 'hash' }, '{"a":1}'), { a: 1 });
    assert.equal(parseInputText('s', { type: 'string' }, '007'), '007');
  });

  test('rejects text that does not convert, naming the input', () => {
    assert.throws(() => parseInputText('count', { type: 'integer' }, '4.5'), (e: unknown) => e instanceof InvalidArgumentError && /input count: expected an integer/.test(e.message));
    assert.throws(() => parseInputText('flag', { type: 'boolean' }, 'maybe'), /input flag: expected a boolean/);
    assert.throws(() => parseInputText('h', { type: 'hash' }, '[1]'), /expected a JSON object/);
  });
});
