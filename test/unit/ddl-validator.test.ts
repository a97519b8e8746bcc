/**
 * The ahead-of-time compiled validator of agent descriptions (src/agent/ddl-validator.generated.cts): it is exactly
 * what the generator makes of today's DDL_SCHEMA (so it cannot drift from it), and it reaches the same verdicts and
 * errors as the schema compiled at run time. Also the validator-free answer for actions without inputs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DDL_SCHEMA, checkActionInputs, type AgentDdl } from '../../src/agent/index.js';
import { DDL_VALIDATOR_FILE, ddlValidatorSource } from '../../src/agent/ddl-validator-source.js';
import { descriptionValidator } from '../../src/agent/ddl-check.js';
import { compileSchema } from '../../src/agent/validator.js';
import { StatusCode } from '../../src/inter/message.js';
import rpcutil from '../../plugins/agent/rpcutil.js';

const root = new URL('../../../', import.meta.url);

/** Mutations of a valid description, each breaking it in its own way (plus the valid ones). */
function documents(): unknown[] {
  const base = (): Record<string, any> => structuredClone(rpcutil.ddl) as unknown as Record<string, any>;
  const docs: unknown[] = [base(), { metadata: { name: 'a', description: 'd', version: '1', timeout: 1 }, actions: {} }];
  const mutate = (change: (ddl: Record<string, any>) => void) => {
    const ddl = base();
    change(ddl);
    docs.push(ddl);
  };
  mutate((ddl) => { ddl['extra'] = 1; });
  mutate((ddl) => { ddl['metadata'].name = 'Bad-Name'; ddl['metadata'].timeout = 0; });
  mutate((ddl) => { delete ddl['metadata']; });
  mutate((ddl) => { ddl['actions']['Not An Action'] = { description: 'x' }; });
  mutate((ddl) => { ddl['actions']['ping'].display = 'sometimes'; });
  mutate((ddl) => { ddl['actions']['get_fact'].input.fact.pattern = 'a'.repeat(2000); });
  mutate((ddl) => { ddl['actions']['get_fact'].input.fact.colour = 'red'; ddl['actions']['get_fact'].input['1bad'] = { type: 'string' }; });
  mutate((ddl) => { ddl['actions']['ping'].aggregate = [{ function: 'median', output: 'pong' }]; });
  mutate((ddl) => { ddl['metadata'].description = '\u{1F600}'.repeat(5000); });
  docs.push(null, 'a string', [], 42);
  return docs;
}

describe('the precompiled description validator', () => {
  test(`${DDL_VALIDATOR_FILE} is what the generator makes of DDL_SCHEMA (run npm run gen:ddl-validator when this fails)`, () => {
    assert.equal(readFileSync(new URL(DDL_VALIDATOR_FILE, root), 'utf8'), ddlValidatorSource());
  });

  test('reaches the verdicts and errors of the schema compiled at run time', () => {
    const compiled = compileSchema(DDL_SCHEMA);
    const precompiled = descriptionValidator();
    const shape = (errors: typeof compiled.errors) => (errors ?? []).map(({ instancePath, keyword, message, params }) => ({ instancePath, keyword, message, params }));
    let refused = 0;
    for (const document of documents()) {
      const verdict = compiled(document);
      assert.equal(precompiled(document), verdict, JSON.stringify(document).slice(0, 200));
      assert.deepEqual(shape((precompiled as unknown as typeof compiled).errors), shape(compiled.errors));
      if (!verdict) refused++;
    }
    assert.equal(refused, documents().length - 2, 'every mutation is refused, both valid descriptions pass');
  });
});

describe('inputs of an action that declares none', () => {
  test('empty data passes; every undeclared key is named, as the validator of an action with inputs names it', () => {
    assert.deepEqual(checkActionInputs({}, undefined), { ok: true, values: {} });
    assert.deepEqual(checkActionInputs({ input: {} }, {}), { ok: true, values: {} });
    assert.deepEqual(checkActionInputs({}, { a: 1, b: undefined, c: 2 }), {
      ok: false, statuscode: StatusCode.InvalidData, message: 'input a: not declared by this action; input c: not declared by this action',
    });
    const withInput: Pick<AgentDdl['actions'][string], 'input'> = { input: { x: { type: 'string', optional: true } } };
    assert.deepEqual(checkActionInputs(withInput, { a: 1 }), { ok: false, statuscode: StatusCode.InvalidData, message: 'input a: not declared by this action' });
  });
});
