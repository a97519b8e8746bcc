/**
 * `key=value` action inputs on the command line: converted and validated with the agent's description when one is
 * known (installed locally, cached, or fetched from a server: see src/client/ddl), else by inference (numbers,
 * booleans, JSON, else text), or typed explicitly with `key:type=value`.
 */
import { InvalidArgumentError } from '../../errors.js';
import { checkActionInputs, parseInputText } from '../../agent/inputs.js';
import { DDL_TYPES, inputRequired, type AgentDdl, type DdlType } from '../../agent/ddl.js';
import type { Agent } from '../../agent/types.js';
import { isName, NAME_RULES } from '../../names.js';

/** One `key[:type]=value` argument. */
interface KeyValue { key: string; type?: DdlType; text: string }

/** Splits `key=value` (and `key:type=value`) arguments; throws InvalidArgumentError listing every malformed or repeated one. */
export function splitKeyValues(args: readonly string[]): Array<[string, string]> {
  return parseKeyValues(args).map(({ key, text }) => [key, text]);
}

function parseKeyValues(args: readonly string[]): KeyValue[] {
  const pairs: KeyValue[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const at = arg.indexOf('=');
    const head = at > 0 ? arg.slice(0, at) : '';
    const colon = head.indexOf(':');
    const key = colon < 0 ? head : head.slice(0, colon);
    const type = colon < 0 ? undefined : head.slice(colon + 1);
    if (!isName('dataKey', key)) {
      problems.push(`${JSON.stringify(arg)} is not key=value (key: ${NAME_RULES.dataKey.description})`);
      continue;
    }
    if (type !== undefined && !(DDL_TYPES as readonly string[]).includes(type)) {
      problems.push(`${JSON.stringify(arg)}: type ${JSON.stringify(type)} is not one of ${DDL_TYPES.join(', ')}`);
      continue;
    }
    if (seen.has(key)) problems.push(`input ${key} is given twice`);
    seen.add(key);
    pairs.push({ key, text: arg.slice(at + 1), ...(type ? { type: type as DdlType } : {}) });
  }
  if (problems.length > 0) throw new InvalidArgumentError(`action inputs:\n  - ${problems.join('\n  - ')}`);
  return pairs;
}

/** The value `text` most likely means: true/false, a number, JSON (list, object, quoted string, null), else the text. */
export function inferValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
  if (/^[[{"]/.test(text) || text === 'null') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** How the inputs were typed: from a description, or inferred (explicit `:type` suffixes aside). */
export type InputTyping = 'declared' | 'inferred';

function descriptionOf(agent: Agent | AgentDdl | undefined): AgentDdl | undefined {
  if (!agent) return undefined;
  return 'ddl' in agent ? agent.ddl : agent;
}

/**
 * Converts `key=value` arguments into an action's data. With the agent's description (or the agent itself),
 * every key must be a declared input, values are parsed to the declared type and validated (pattern, length,
 * range, enum), and missing required inputs are refused, all problems at once. Without one, `key:type=value`
 * gives the type and other values are inferred.
 */
export function convertInputs(args: readonly string[], agent: Agent | AgentDdl | undefined, action: string): { data: Record<string, unknown>; typing: InputTyping } {
  const pairs = parseKeyValues(args);
  const ddl = descriptionOf(agent);
  const problems: string[] = [];
  const fail = (): never => {
    throw new InvalidArgumentError(`action inputs:\n  - ${problems.join('\n  - ')}`);
  };
  if (!ddl) {
    const data: Record<string, unknown> = {};
    for (const { key, type, text } of pairs) {
      try {
        data[key] = type ? parseInputText(key, { type }, text) : inferValue(text);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (problems.length > 0) fail();
    return { data, typing: 'inferred' };
  }
  const name = ddl.metadata.name;
  const described = Object.hasOwn(ddl.actions, action) ? ddl.actions[action] : undefined;
  if (!described) {
    throw new InvalidArgumentError(`action: agent ${name} has no action ${JSON.stringify(action)} (actions: ${Object.keys(ddl.actions).sort().join(', ') || 'none'})`);
  }
  const declared = described.input ?? {};
  const data: Record<string, unknown> = {};
  for (const { key, type, text } of pairs) {
    const input = Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (!input) {
      problems.push(`input ${key} is not declared by ${name}.${action} (declared: ${Object.keys(declared).sort().join(', ') || 'none'})`);
      continue;
    }
    if (type && type !== input.type) {
      problems.push(`input ${key}: given as ${type}, but ${name}.${action} declares it ${input.type}`);
      continue;
    }
    try {
      data[key] = parseInputText(key, input, text);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const given = new Set(pairs.map(({ key }) => key));
  for (const [key, input] of Object.entries(declared)) {
    if (inputRequired(input) && !given.has(key)) problems.push(`input ${key} is required by ${name}.${action}${input.description ? ` (${input.description})` : ''}`);
  }
  if (problems.length > 0) fail();
  // The daemon's own check, so a value the servers would refuse is refused before anything is sent.
  const checked = checkActionInputs(described, data);
  if (!checked.ok) {
    problems.push(...checked.message.split('; '));
    fail();
  }
  return { data, typing: 'declared' };
}
