/**
 * Action input validation (before any handler runs) and conversion of command-line text
 * (`key=value`) into typed inputs, for the client.
 */
import { StatusCode } from '../inter/message.js';
import { InvalidArgumentError } from '../errors.js';
import type { InputSpec, InputSpecs, InputType } from './types.js';

/** The outcome of validating a request's data against an action's inputs. */
export type InputCheck =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; statuscode: typeof StatusCode.MissingData | typeof StatusCode.InvalidData; message: string };

function typeProblem(type: InputType, value: unknown): string | undefined {
  switch (type) {
    case 'string': return typeof value === 'string' ? undefined : 'a string';
    case 'integer': return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : 'an integer';
    case 'number': return typeof value === 'number' && Number.isFinite(value) ? undefined : 'a number';
    case 'boolean': return typeof value === 'boolean' ? undefined : 'a boolean';
    case 'list': return Array.isArray(value) ? undefined : 'a list';
    case 'hash': return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : 'a hash (object)';
    case 'any': return undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** Why `value` does not satisfy `spec`, or undefined when it does. */
export function inputProblem(name: string, spec: InputSpec, value: unknown): string | undefined {
  const wanted = typeProblem(spec.type, value);
  if (wanted) return `input ${name}: expected ${wanted}, got ${describe(value)}`;
  if (typeof value === 'string') {
    if (spec.maxLength !== undefined && value.length > spec.maxLength) return `input ${name}: longer than ${spec.maxLength} characters`;
    if (spec.pattern && !spec.pattern.test(value)) return `input ${name}: ${describe(value)} does not match ${spec.pattern}`;
  }
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) return `input ${name}: ${value} is below the minimum ${spec.min}`;
    if (spec.max !== undefined && value > spec.max) return `input ${name}: ${value} is above the maximum ${spec.max}`;
  }
  if (spec.enum && !spec.enum.includes(value as string | number | boolean)) {
    return `input ${name}: ${describe(value)} is not one of ${spec.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return undefined;
}

/**
 * Validates request data against declared inputs: a missing required input gives status 3,
 * a wrong type, pattern, length, range or enum (or an undeclared input) gives status 4.
 * Every problem of the same kind is reported in one message.
 */
export function checkInputs(specs: InputSpecs, data: unknown): InputCheck {
  if (data === undefined || data === null) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, statuscode: StatusCode.InvalidData, message: 'request data must be a hash of inputs' };
  }
  const given = data as Record<string, unknown>;
  const missing: string[] = [];
  const invalid: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = Object.hasOwn(given, name) && given[name] !== undefined ? given[name] : spec.default;
    if (value === undefined) {
      if (spec.required) missing.push(name);
      continue;
    }
    const problem = inputProblem(name, spec, value);
    if (problem) invalid.push(problem);
    else values[name] = value;
  }
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(specs, name)) invalid.push(`input ${name}: not declared by this action`);
  }
  if (missing.length > 0) {
    return { ok: false, statuscode: StatusCode.MissingData, message: `missing required input(s): ${missing.join(', ')}` };
  }
  if (invalid.length > 0) return { ok: false, statuscode: StatusCode.InvalidData, message: invalid.join('; ') };
  return { ok: true, values };
}

const TRUE = new Set(['1', 'true', 'yes', 'y', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'n', 'off']);

/**
 * Converts command-line text to an input's declared type (for `tsco rpc agent action key=value`):
 * integers and numbers parse strictly, booleans accept 1/0/true/false/yes/no/on/off, lists and
 * hashes are JSON (a list may also be comma-separated). Throws InvalidArgumentError naming the input.
 */
export function parseInputText(name: string, spec: InputSpec, text: string): unknown {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`input ${name}: expected ${what}, got ${JSON.stringify(text)}`);
  };
  switch (spec.type) {
    case 'string': return text;
    case 'integer': return /^[-+]?\d+$/.test(text.trim()) && Number.isSafeInteger(Number(text)) ? Number(text) : fail('an integer');
    case 'number': return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : fail('a number');
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : fail('a boolean (true/false/yes/no/1/0)');
    }
    case 'list': {
      if (text.trim().startsWith('[')) {
        try {
          const parsed: unknown = JSON.parse(text);
          return Array.isArray(parsed) ? parsed : fail('a JSON list');
        } catch {
          return fail('a JSON list');
        }
      }
      return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    }
    case 'hash': {
      try {
        const parsed: unknown = JSON.parse(text);
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : fail('a JSON object');
      } catch {
        return fail('a JSON object');
      }
    }
    case 'any': {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
  }
}
