/**
 * Checking an agent description wherever it comes from (agent code, an external agent's JSON file, the client's
 * cache, a server's reply): the DDL schema first (bounded sizes, known keys, name rules), then what a schema cannot
 * say: patterns the linear-time engine compiles, keywords that fit their input's type, defaults and enum values
 * that are valid inputs, aggregates over declared outputs of a fitting type.
 */
import { fileURLToPath } from 'node:url';
import { AgentDescriptionError } from '../errors.js';
import { type ActionDdl, type AgentDdl, type DdlType, type InputDdl, type OutputDdl } from './ddl.js';
import { inputValueProblem, typeProblem } from './inputs.js';
import type { ValidateFunction } from 'ajv';
import { lazyRequire } from '../util/lazy-require.js';
import { compileLinear, linearPatternProblem, schemaProblems } from './validator.js';

const loadValidatorBuilder = lazyRequire<(compile: typeof compileLinear) => ValidateFunction>(fileURLToPath(new URL('./ddl-validator.generated.cjs', import.meta.url)));
let documentValidator: ValidateFunction | undefined;

/**
 * DDL_SCHEMA's validator, compiled ahead of time (ddl-validator-source.ts): no ajv import or schema compilation per
 * process, and nothing loaded until the first description is checked.
 */
export function descriptionValidator(): ValidateFunction {
  documentValidator ??= loadValidatorBuilder()(compileLinear);
  return documentValidator;
}

const MAX_DEFAULT_DEPTH = 16;

/** Every problem of `value` as an agent description (empty when it is a valid one). */
export function descriptionProblems(value: unknown): string[] {
  const validateDocument = descriptionValidator();
  if (!validateDocument(value)) return schemaProblems(validateDocument.errors);
  const ddl = value as AgentDdl;
  const problems: string[] = [];
  for (const [name, action] of Object.entries(ddl.actions)) problems.push(...actionProblems(`actions.${name}`, action));
  return problems;
}

/**
 * Returns a deep-frozen copy of `value` when it is a valid agent description; throws AgentDescriptionError
 * naming `source` and listing every problem otherwise.
 */
export function checkDescription(value: unknown, source: string): AgentDdl {
  const problems = descriptionProblems(value);
  if (problems.length > 0) throw new AgentDescriptionError(source, problems);
  return deepFreeze(structuredClone(value) as AgentDdl);
}

function actionProblems(where: string, action: ActionDdl): string[] {
  const problems: string[] = [];
  for (const [name, input] of Object.entries(action.input ?? {})) problems.push(...inputProblems(`${where}.input.${name}`, name, input));
  for (const [name, output] of Object.entries(action.output ?? {})) problems.push(...outputProblems(`${where}.output.${name}`, output));
  for (const [index, aggregate] of (action.aggregate ?? []).entries()) {
    const at = `${where}.aggregate.${index}`;
    const output = action.output?.[aggregate.output];
    if (!output) {
      problems.push(`${at}.output: ${JSON.stringify(aggregate.output)} is not a declared output`);
      continue;
    }
    const type = output.type ?? 'any';
    if (['average', 'sum', 'min', 'max'].includes(aggregate.function) && !['number', 'integer', 'any'].includes(type)) {
      problems.push(`${at}: ${aggregate.function} needs a numeric output, ${aggregate.output} is ${type}`);
    }
    if (aggregate.function === 'boolean_summary' && !['boolean', 'any'].includes(type)) problems.push(`${at}: boolean_summary needs a boolean output, ${aggregate.output} is ${type}`);
    if (aggregate.labels && aggregate.function !== 'boolean_summary') problems.push(`${at}.labels: only boolean_summary takes labels`);
  }
  return problems;
}

const FOR_STRINGS = ['pattern', 'maxLength'] as const;
const FOR_NUMBERS = ['minimum', 'maximum'] as const;

function inputProblems(where: string, name: string, input: InputDdl): string[] {
  const problems: string[] = [];
  const numeric = input.type === 'integer' || input.type === 'number';
  for (const key of FOR_STRINGS) if (input[key] !== undefined && input.type !== 'string') problems.push(`${where}.${key}: only string inputs take ${key}`);
  for (const key of FOR_NUMBERS) if (input[key] !== undefined && !numeric) problems.push(`${where}.${key}: only integer and number inputs take ${key}`);
  if (input.minimum !== undefined && input.maximum !== undefined && input.minimum > input.maximum) problems.push(`${where}: minimum ${input.minimum} is above maximum ${input.maximum}`);
  if (input.pattern !== undefined) {
    const problem = linearPatternProblem(input.pattern);
    if (problem) problems.push(`${where}.pattern: not supported by the linear-time (RE2) engine: ${problem}`);
  }
  if (problems.length > 0) return problems;
  for (const [index, value] of (input.enum ?? []).entries()) {
    const wrong = typeProblem(input.type, value);
    if (wrong) problems.push(`${where}.enum.${index}: expected ${wrong}, got ${JSON.stringify(value)}`);
  }
  if (input.default !== undefined) {
    if (depth(input.default) > MAX_DEFAULT_DEPTH) problems.push(`${where}.default: nested deeper than ${MAX_DEFAULT_DEPTH} levels`);
    else {
      const problem = inputValueProblem(name, input, input.default);
      if (problem) problems.push(`${where}.default: ${problem}`);
    }
  }
  return problems;
}

function outputProblems(where: string, output: OutputDdl): string[] {
  if (output.default === undefined) return [];
  if (depth(output.default) > MAX_DEFAULT_DEPTH) return [`${where}.default: nested deeper than ${MAX_DEFAULT_DEPTH} levels`];
  const wrong = typeProblem((output.type ?? 'any') as DdlType, output.default);
  return wrong ? [`${where}.default: expected ${wrong}`] : [];
}

/** How deeply `value` nests (iteratively, so a hostile value cannot exhaust the stack), stopping past the limit. */
function depth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, level] = stack.pop()!;
    deepest = Math.max(deepest, level);
    if (deepest > MAX_DEFAULT_DEPTH) return deepest;
    if (typeof item === 'object' && item !== null) for (const child of Object.values(item)) stack.push([child, level + 1]);
  }
  return deepest;
}

/** Freezes `value` and everything in it. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null || Object.isFrozen(item)) continue;
    Object.freeze(item);
    for (const child of Object.values(item)) stack.push(child);
  }
  return value;
}
