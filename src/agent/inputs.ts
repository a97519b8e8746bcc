/**
 * Action input validation (before any handler runs, and in the client before anything is sent), with the one
 * validator (ajv, linear-time patterns) against the action's description, and conversion of command-line text
 * (`key=value`) into typed inputs.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { StatusCode } from '../inter/message.js';
import { InvalidArgumentError } from '../errors.js';
import type { ActionDdl, DdlType, InputDdl } from './ddl.js';
import { inputRequired } from './ddl.js';
import { ddlType, inputDdl } from './describe.js';
import type { InputSpec, InputSpecs, InputType } from './types.js';
import { compileSchema, describeValue } from './validator.js';

/** The outcome of validating a request's data against an action's inputs. */
export type InputCheck =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; statuscode: typeof StatusCode.MissingData | typeof StatusCode.InvalidData; message: string };

const TYPE_WORDS: Record<DdlType, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean', array: 'a list', object: 'a hash (object)', any: 'anything',
};

/** What `type` expects, in words, when `value` is not of it; undefined when it is. */
export function typeProblem(type: DdlType, value: unknown): string | undefined {
  const ok = ((): boolean => {
    switch (type) {
      case 'string': return typeof value === 'string';
      case 'integer': return typeof value === 'number' && Number.isSafeInteger(value);
      case 'number': return typeof value === 'number' && Number.isFinite(value);
      case 'boolean': return typeof value === 'boolean';
      case 'array': return Array.isArray(value);
      case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value);
      case 'any': return true;
    }
  })();
  return ok ? undefined : TYPE_WORDS[type];
}

function valueSchema(input: InputDdl): Record<string, unknown> {
  const schema: Record<string, unknown> = {};
  if (input.type !== 'any') schema['type'] = input.type;
  for (const key of ['pattern', 'maxLength', 'minimum', 'maximum', 'enum'] as const) if (input[key] !== undefined) schema[key] = input[key];
  return schema;
}

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(inputs: Readonly<Record<string, InputDdl>>): ValidateFunction {
  let validate = compiled.get(inputs);
  if (!validate) {
    const properties = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, valueSchema(input)]));
    validate = compileSchema({ type: 'object', properties, additionalProperties: false });
    compiled.set(inputs, validate);
  }
  return validate;
}

function problemOf(error: ErrorObject, inputs: Readonly<Record<string, InputDdl>>): { name: string; text: string } {
  if (error.keyword === 'additionalProperties') {
    const name = String((error.params as { additionalProperty: string }).additionalProperty);
    return { name, text: `input ${name}: not declared by this action` };
  }
  const name = error.instancePath.split('/')[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
  const input = inputs[name]!;
  const value = error.data;
  const text = ((): string => {
    switch (error.keyword) {
      case 'type': return `expected ${typeProblem(input.type, value) ?? TYPE_WORDS[input.type]}, got ${describeValue(value)}`;
      case 'maxLength': return `longer than ${input.maxLength} characters`;
      case 'pattern': return `${describeValue(value)} does not match /${input.pattern}/`;
      case 'minimum': return `${String(value)} is below the minimum ${input.minimum}`;
      case 'maximum': return `${String(value)} is above the maximum ${input.maximum}`;
      case 'enum': return `${describeValue(value)} is not one of ${(input.enum ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
      default: return error.message ?? error.keyword;
    }
  })();
  return { name, text: `input ${name}: ${text}` };
}

/**
 * Validates request data against an action's declared inputs: a missing required input gives status 3,
 * a wrong type, pattern, length, range or enum (or an undeclared input) gives status 4. Defaults are applied
 * first; every problem of the same kind is reported in one message (one per input).
 */
export function checkActionInputs(action: Pick<ActionDdl, 'input'>, data: unknown): InputCheck {
  const inputs = action.input ?? {};
  if (data === undefined || data === null) data = {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, statuscode: StatusCode.InvalidData, message: 'request data must be a hash of inputs' };
  }
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) if (value !== undefined) values[name] = value;
  const missing: string[] = [];
  for (const [name, input] of Object.entries(inputs)) {
    if (Object.hasOwn(values, name)) continue;
    if (input.default !== undefined) values[name] = structuredClone(input.default);
    else if (inputRequired(input)) missing.push(name);
  }
  if (missing.length > 0) {
    return { ok: false, statuscode: StatusCode.MissingData, message: `missing required input(s): ${missing.join(', ')}` };
  }
  if (Object.keys(inputs).length === 0) {
    // Without declared inputs only empty data is valid: said without compiling a validator (or loading ajv).
    const undeclared = Object.keys(values);
    if (undeclared.length === 0) return { ok: true, values };
    return { ok: false, statuscode: StatusCode.InvalidData, message: undeclared.map((name) => `input ${name}: not declared by this action`).join('; ') };
  }
  const validate = validatorFor(inputs);
  if (!validate(values)) {
    const byInput = new Map<string, string>();
    for (const error of validate.errors ?? []) {
      const { name, text } = problemOf(error, inputs);
      if (!byInput.has(name)) byInput.set(name, text);
    }
    return { ok: false, statuscode: StatusCode.InvalidData, message: [...byInput.values()].join('; ') };
  }
  return { ok: true, values };
}

/** Why `value` is not valid for the declared input `name`, or undefined when it is. */
export function inputValueProblem(name: string, input: InputDdl, value: unknown): string | undefined {
  const result = checkActionInputs({ input: { [name]: input } }, { [name]: value });
  return result.ok ? undefined : result.message;
}

const legacy = new WeakMap<object, Record<string, InputDdl>>();

/**
 * Validates request data against InputSpecs (the agent-code form of inputs), with the same validator and
 * messages as checkActionInputs.
 */
export function checkInputs(specs: InputSpecs, data: unknown): InputCheck {
  let inputs = legacy.get(specs);
  if (!inputs) {
    inputs = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, inputDdl(spec)]));
    legacy.set(specs, inputs);
  }
  return checkActionInputs({ input: inputs }, data);
}

/** Why `value` does not satisfy `spec` (an agent-code input declaration), or undefined when it does. */
export function inputProblem(name: string, spec: InputSpec, value: unknown): string | undefined {
  return inputValueProblem(name, inputDdl(spec), value);
}

const TRUE = new Set(['1', 'true', 'yes', 'y', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'n', 'off']);

/**
 * Converts command-line text to an input's declared type (for `tsco rpc agent action key=value`):
 * integers and numbers parse strictly, booleans accept 1/0/true/false/yes/no/on/off, lists and
 * hashes are JSON (a list may also be comma-separated), `any` is JSON when it parses, else the text.
 * Takes a description's input or an agent-code InputSpec. Throws InvalidArgumentError naming the input.
 */
export function parseInputText(name: string, spec: { type: DdlType | InputType }, text: string): unknown {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`input ${name}: expected ${what}, got ${JSON.stringify(text)}`);
  };
  switch (ddlType(spec.type)) {
    case 'string': return text;
    case 'integer': return /^[-+]?\d+$/.test(text.trim()) && Number.isSafeInteger(Number(text)) ? Number(text) : fail('an integer');
    case 'number': return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : fail('a number');
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : fail('a boolean (true/false/yes/no/1/0)');
    }
    case 'array': {
      if (!text.trim().startsWith('[')) return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
      const parsed = parseJson(text);
      return Array.isArray(parsed) ? parsed : fail('a JSON list');
    }
    case 'object': {
      const parsed = parseJson(text);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : fail('a JSON object');
    }
    case 'any': {
      const parsed = parseJson(text);
      return parsed === NOT_JSON ? text : parsed;
    }
  }
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}
