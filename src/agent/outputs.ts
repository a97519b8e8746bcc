/**
 * Checking reply data against an action's declared outputs (for external agents, whose replies come from another
 * program): a hash, every declared output of its declared type, nothing undeclared; absent outputs get their
 * declared default. Uses the one validator (ajv).
 */
import type { ValidateFunction } from 'ajv';
import type { ActionDdl, OutputDdl } from './ddl.js';
import { typeProblem } from './inputs.js';
import { compileSchema, describeValue } from './validator.js';

/** The outcome of checking reply data. */
export type OutputCheck = { ok: true; data: Record<string, unknown> } | { ok: false; message: string };

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(outputs: Readonly<Record<string, OutputDdl>>): ValidateFunction {
  let validate = compiled.get(outputs);
  if (!validate) {
    const properties = Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, !output.type || output.type === 'any' ? {} : { type: output.type }]));
    validate = compileSchema({ type: 'object', properties, additionalProperties: false });
    compiled.set(outputs, validate);
  }
  return validate;
}

/** Checks `data` against the outputs `action` declares; every problem is named in one message. */
export function checkActionOutputs(action: Pick<ActionDdl, 'output'>, data: unknown): OutputCheck {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: `data: expected a hash of outputs, got ${describeValue(data)}` };
  const outputs = action.output ?? {};
  const values: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const [name, output] of Object.entries(outputs)) {
    if (values[name] === undefined && output.default !== undefined) values[name] = structuredClone(output.default);
  }
  const validate = validatorFor(outputs);
  if (validate(values)) return { ok: true, data: values };
  const problems = (validate.errors ?? []).slice(0, 20).map((error) => {
    if (error.keyword === 'additionalProperties') return `output ${String((error.params as { additionalProperty: string }).additionalProperty)}: not declared by this action`;
    const name = error.instancePath.split('/')[1] ?? '';
    const type = outputs[name]?.type ?? 'any';
    return `output ${name}: expected ${typeProblem(type, error.data) ?? type}, got ${describeValue(error.data)}`;
  });
  return { ok: false, message: problems.join('; ') };
}
