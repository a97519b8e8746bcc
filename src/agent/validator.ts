/**
 * The one JSON Schema validator of tscollective (ajv), used by daemons and clients alike: for agent descriptions,
 * action inputs and external agents' outputs. Its regular expressions are compiled with re2js, a linear-time
 * engine, because patterns may come from the network (a server's description) and must never backtrack.
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { RE2JS } from 're2js';
import { re2js } from '../util/lazy-require.js';

/** Compiles `pattern` with the linear-time engine; throws (RE2JSSyntaxException) when RE2 cannot express it. */
export function compileLinear(pattern: string): RE2JS {
  return re2js().compile(pattern);
}

/** Why `pattern` cannot be compiled by the linear-time engine, or undefined when it can. */
export function linearPatternProblem(pattern: string): string | undefined {
  try {
    compileLinear(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// ajv calls the engine with the pattern and its flags ("u"); RE2 is always Unicode-aware.
const re2Engine = Object.assign((pattern: string) => compileLinear(pattern), { code: 'RE2JS.compile' });

const requireModule = createRequire(import.meta.url);
let instance: Ajv | undefined;

/**
 * The shared ajv instance: every error reported, linear-time patterns. Created at the first compile: importing ajv
 * costs tens of milliseconds, which a run that validates nothing (tsco ping, discover) does not pay.
 */
export function sharedAjv(): Ajv {
  if (!instance) {
    const { Ajv: AjvClass } = requireModule('ajv') as typeof import('ajv');
    instance = new AjvClass({ allErrors: true, verbose: true, strictTypes: false, code: { regExp: re2Engine } });
  }
  return instance;
}

/**
 * Compiles `schema` (built from a checked description, never taken as is from the network). The compiled function
 * is the caller's to keep: ajv's own cache would hold every schema ever compiled (each reload, each fetched
 * description), so it forgets it at once.
 */
export function compileSchema(schema: object): ValidateFunction {
  const ajv = sharedAjv();
  const validate = ajv.compile(schema);
  ajv.removeSchema(schema);
  return validate;
}

const MAX_REPORTED = 50;

/** The path of an ajv error as `a.b.c` (the document itself as `(document)`). */
export function errorPath(error: ErrorObject): string {
  const parts = error.instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.join('.') || '(document)';
}

/** A short, bounded rendering of a value for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** Every problem ajv found, one line each (bounded), in words. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined): string[] {
  const problems: string[] = [];
  for (const error of errors ?? []) {
    // propertyNames reports the inner failure with `propertyName` set, then its own summary: keep the summary.
    if ((error.params as { propertyName?: string }).propertyName !== undefined && error.keyword !== 'propertyNames') continue;
    problems.push(describeError(error));
  }
  const unique = [...new Set(problems)];
  return unique.length > MAX_REPORTED ? [...unique.slice(0, MAX_REPORTED), `... and ${unique.length - MAX_REPORTED} more`] : unique;
}

function describeError(error: ErrorObject): string {
  const where = errorPath(error);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': return `${where}: unknown key ${JSON.stringify(params['additionalProperty'])}`;
    case 'required': return `${where}: ${String(params['missingProperty'])} is required`;
    case 'propertyNames': return `${where}: ${JSON.stringify(params['propertyName'])} is not a valid name`;
    case 'enum': return `${where}: ${describeValue(error.data)} is not one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern': return `${where}: ${describeValue(error.data)} does not match ${String(params['pattern'])}`;
    case 'type': return `${where}: expected ${String(params['type'])}, got ${describeValue(error.data)}`;
    default: return `${where}: ${error.message ?? error.keyword}`;
  }
}
