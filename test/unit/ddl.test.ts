/**
 * Agent descriptions (DDL) as data: what defineAgent produces, and how a description from anywhere (a file, the
 * network) is refused: schema (unknown keys, names, bounds), patterns the linear-time engine cannot compile,
 * keywords that do not fit their type, defaults and enums that are not valid inputs, aggregates over missing or
 * mistyped outputs, hostile nesting. Patterns run in linear time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentDescriptionError, AgentDefinitionError,
} from '../../src/errors.js';
import {
  checkActionInputs, checkDescription, defineAgent, descriptionProblems, type AgentDdl,
} from '../../src/agent/index.js';
import rpcutil from '../../plugins/agent/rpcutil.js';

const valid = (): AgentDdl => ({
  metadata: { name: 'greeter', description: 'Says hello', version: '1.0.0', timeout: 10 },
  actions: {
    hello: {
      description: 'Greets',
      display: 'ok',
      input: { name: { type: 'string', optional: false, pattern: '^[a-z]+$', maxLength: 8 }, times: { type: 'integer', minimum: 1, maximum: 3, default: 1 } },
      output: { greeting: { description: 'g', display_as: 'Greeting', type: 'string' }, ok: { description: 'ok', type: 'boolean' } },
      aggregate: [{ function: 'summary', output: 'greeting' }, { function: 'boolean_summary', output: 'ok', labels: { true: 'yes', false: 'no' } }],
    },
  },
});

describe('descriptions produced by defineAgent', () => {
  test('rpcutil\'s description is checked, frozen and maps the agent-code forms', () => {
    assert.deepEqual(descriptionProblems(rpcutil.ddl), []);
    assert.ok(Object.isFrozen(rpcutil.ddl.actions['get_fact']!.input!['fact']));
    assert.deepEqual(rpcutil.ddl.metadata, { name: 'rpcutil', description: rpcutil.description, version: '1.0.0', timeout: 10, author: 'tscollective', license: 'Apache-2.0' });
    assert.deepEqual(rpcutil.ddl.actions['get_fact']!.input!['fact'], {
      type: 'string', prompt: 'The name of the fact', description: 'The fact to retrieve', optional: false, pattern: '^[\\w.:\\-]+$', maxLength: 128,
    });
    assert.equal(rpcutil.ddl.actions['agent_inventory']!.output!['agents']!.type, 'array');
    const agent = defineAgent({ name: 'x', version: '1', description: 'x', actions: { go: { description: 'go', input: { h: { type: 'hash' } }, handler: () => ({}) } } });
    assert.equal(agent.ddl.actions['go']!.input!['h']!.type, 'object');
  });

  test('defineAgent refuses patterns RE2 cannot run, defaults that are not valid, aggregates over undeclared outputs', () => {
    assert.throws(() => defineAgent({
      name: 'bad', version: '1', description: 'b',
      actions: {
        go: {
          description: 'go',
          input: { a: { type: 'string', pattern: /^(?=x)/ }, b: { type: 'integer', max: 3, default: 5 } },
          aggregate: [{ function: 'sum', output: 'nothing' }],
          handler: () => ({}),
        },
      },
    }), (error: unknown) => {
      assert.ok(error instanceof AgentDefinitionError);
      const text = error.problems.join('\n');
      assert.match(text, /actions\.go\.input\.a\.pattern: not supported by the linear-time \(RE2\) engine/);
      assert.match(text, /actions\.go\.input\.b\.default: input b: 5 is above the maximum 3/);
      assert.match(text, /actions\.go\.aggregate\.0\.output: "nothing" is not a declared output/);
      return true;
    });
    assert.throws(() => defineAgent({ name: 'v', version: 'one two', description: 'v', actions: { go: { description: 'g', handler: () => ({}) } } }), /version: "one two" is not a valid version/);
  });
});

describe('descriptions from files and the network are checked', () => {
  test('a valid description passes and comes back as a frozen copy', () => {
    const original = valid();
    const checked = checkDescription(original, 'test');
    assert.deepEqual(checked, original);
    assert.notEqual(checked, original);
    assert.ok(Object.isFrozen(checked.actions['hello']!.aggregate![1]!.labels));
  });

  test('every problem is listed, naming where it is', () => {
    const ddl = valid() as unknown as Record<string, any>;
    ddl['extra'] = 1;
    ddl['metadata'].name = 'Bad-Name';
    ddl['metadata'].timeout = 0;
    ddl['actions']['Not An Action'] = { description: 'x' };
    ddl['actions']['hello'].display = 'sometimes';
    ddl['actions']['hello'].input.name.colour = 'red';
    ddl['actions']['hello'].input['1bad'] = { type: 'string' };
    assert.throws(() => checkDescription(ddl, 'rpcutil#agent_ddl reply from web1'), (error: unknown) => {
      assert.ok(error instanceof AgentDescriptionError);
      assert.equal(error.code, 'TSC_AGENT_DESCRIPTION');
      assert.equal(error.source, 'rpcutil#agent_ddl reply from web1');
      const text = error.problems.join('\n');
      for (const expected of [
        /\(document\): unknown key "extra"/, /metadata\.name: "Bad-Name" does not match/, /metadata\.timeout: must be > 0/,
        /actions: "Not An Action" is not a valid name/, /actions\.hello\.display: "sometimes" is not one of "ok", "failed", "always"/,
        /actions\.hello\.input\.name: unknown key "colour"/, /actions\.hello\.input: "1bad" is not a valid name/,
      ]) assert.match(text, expected);
      return true;
    });
  });

  test('what a schema cannot say: RE2 patterns, keywords fitting the type, valid enums and defaults, fitting aggregates', () => {
    const ddl = valid();
    const hello = ddl.actions['hello']!;
    hello.input!['name']!.pattern = '(a)\\1';
    hello.input!['times']!.pattern = '^1$';
    hello.input!['times']!.minimum = 5;
    hello.input!['mode'] = { type: 'string', enum: ['fast', 2] };
    hello.input!['flag'] = { type: 'boolean', default: 'yes' };
    hello.aggregate = [{ function: 'average', output: 'greeting' }, { function: 'summary', output: 'ok', labels: { true: 'y', false: 'n' } }];
    hello.output!['deep'] = { description: 'd', default: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) };
    const text = descriptionProblems(ddl).join('\n');
    for (const expected of [
      /input\.name\.pattern: not supported by the linear-time \(RE2\) engine/, /input\.times\.pattern: only string inputs take pattern/,
      /input\.times: minimum 5 is above maximum 3/, /input\.mode\.enum\.1: expected a string, got 2/,
      /input\.flag\.default: input flag: expected a boolean, got "yes"/, /aggregate\.0: average needs a numeric output, greeting is string/,
      /aggregate\.1\.labels: only boolean_summary takes labels/, /output\.deep\.default: nested deeper than 16 levels/,
    ]) assert.match(text, expected);
  });

  test('bounds: too many actions, an oversized pattern', () => {
    const ddl = valid();
    for (let i = 0; i < 257; i++) ddl.actions[`a${i}`] = { description: 'x' };
    assert.match(descriptionProblems(ddl).join('\n'), /actions: must NOT have more than 256 properties/);
    const long = valid();
    long.actions['hello']!.input!['name']!.pattern = 'a'.repeat(2000);
    assert.match(descriptionProblems(long).join('\n'), /pattern: must NOT have more than 1024 characters/);
  });

  test('a pattern that backtracks exponentially in a RegExp engine runs in linear time', () => {
    const ddl = checkDescription({
      metadata: { name: 'redos', description: 'r', version: '1', timeout: 1 },
      actions: { go: { description: 'go', input: { s: { type: 'string', pattern: '^(a+)+$' } } } },
    }, 'test');
    // With a backtracking engine this input takes about 2^40 steps; this test would never finish.
    const result = checkActionInputs(ddl.actions['go']!, { s: `${'a'.repeat(40)}!` });
    assert.equal(result.ok, false);
    assert.deepEqual(checkActionInputs(ddl.actions['go']!, { s: 'aaaa' }), { ok: true, values: { s: 'aaaa' } });
  });
});
