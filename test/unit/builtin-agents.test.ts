/**
 * The agents shipped in plugins/agent are defined with defineBuiltinAgent, which skips the check of their
 * descriptions against the DDL schema on load (every tsco run loads rpcutil). This is where that check happens: every
 * built-in agent's description passes descriptionProblems, and a broken one would be refused by defineAgent.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { descriptionProblems } from '../../src/agent/ddl-check.js';
import { defineAgent, defineBuiltinAgent } from '../../src/agent/define.js';
import { isAgent } from '../../src/agent/index.js';
import type { Agent } from '../../src/agent/types.js';

const AGENT_DIR = new URL('../../plugins/agent/', import.meta.url);
const modules = readdirSync(AGENT_DIR).filter((file) => file.endsWith('.js'));

describe('built-in agents', () => {
  test('there are built-in agents to check (rpcutil, discovery, registration, registration_query)', () => {
    assert.deepEqual(modules.map((file) => file.replace(/\.js$/, '')).sort(), ['discovery', 'registration', 'registration_query', 'rpcutil']);
  });

  for (const file of modules) {
    test(`${file}: its description passes the DDL schema and every check defineAgent makes`, async () => {
      const agent = (await import(new URL(file, AGENT_DIR).href) as { default: Agent }).default;
      assert.ok(isAgent(agent));
      assert.deepEqual(descriptionProblems(agent.ddl), []);
      assert.doesNotThrow(() => defineAgent({ ...agent, actions: { ...agent.actions } }));
    });
  }

  test('defineBuiltinAgent still checks the specification; only the document check is left to this test', () => {
    const handler = () => ({});
    assert.throws(() => defineBuiltinAgent({ name: 'Bad Name', version: '1.0', description: 'd', actions: { go: { description: 'x', handler } } }), /name/);
    // A pattern the linear-time engine cannot compile is a document problem: defineAgent refuses it, the built-in path does not look.
    const lookahead = { name: 'ahead', version: '1.0', description: 'd', actions: { go: { description: 'x', handler, input: { word: { type: 'string' as const, pattern: /^(?=a)a$/ } } } } };
    assert.throws(() => defineAgent(lookahead), /pattern/);
    assert.deepEqual(descriptionProblems(defineBuiltinAgent(lookahead).ddl).length > 0, true);
  });
});
