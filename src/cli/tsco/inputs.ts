/**
 * `key=value` action inputs on the command line: converted with the agent's declared input types when the agent
 * is installed locally (plugins/agent or a libdir), else by inference (numbers, booleans, JSON, else text).
 */
import { InvalidArgumentError } from '../../errors.js';
import type { Logger } from '../../inter/logger.js';
import { agentDirectories, loadAgents } from '../../agent/loader.js';
import { parseInputText } from '../../agent/inputs.js';
import type { Agent } from '../../agent/types.js';

const KEY_PATTERN = /^[A-Za-z_][\w]*$/;

/** Splits `key=value` arguments; throws InvalidArgumentError listing every malformed or repeated one. */
export function splitKeyValues(args: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const at = arg.indexOf('=');
    const key = at > 0 ? arg.slice(0, at) : '';
    if (!KEY_PATTERN.test(key)) {
      problems.push(`${JSON.stringify(arg)} is not key=value (key: letters, digits, _)`);
      continue;
    }
    if (seen.has(key)) problems.push(`input ${key} is given twice`);
    seen.add(key);
    pairs.push([key, arg.slice(at + 1)]);
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

/** How the inputs were typed. */
export type InputTyping = 'declared' | 'inferred';

/**
 * Converts `key=value` arguments into an action's data. With `agent` known, every key must be a declared input,
 * values are parsed to the declared type, and missing required inputs are refused, all problems at once.
 */
export function convertInputs(args: readonly string[], agent: Agent | undefined, action: string): { data: Record<string, unknown>; typing: InputTyping } {
  const pairs = splitKeyValues(args);
  if (!agent) return { data: Object.fromEntries(pairs.map(([key, text]) => [key, inferValue(text)])), typing: 'inferred' };
  const spec = agent.actions[action];
  if (!spec) {
    throw new InvalidArgumentError(`action: agent ${agent.name} has no action ${JSON.stringify(action)} (actions: ${Object.keys(agent.actions).sort().join(', ') || 'none'})`);
  }
  const declared = spec.input ?? {};
  const problems: string[] = [];
  const data: Record<string, unknown> = {};
  for (const [key, text] of pairs) {
    const input = declared[key];
    if (!input) {
      problems.push(`input ${key} is not declared by ${agent.name}.${action} (declared: ${Object.keys(declared).sort().join(', ') || 'none'})`);
      continue;
    }
    try {
      data[key] = parseInputText(key, input, text);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const [key, input] of Object.entries(declared)) {
    if (input.required && !(key in data) && input.default === undefined && !pairs.some(([k]) => k === key)) {
      problems.push(`input ${key} is required by ${agent.name}.${action}${input.description ? ` (${input.description})` : ''}`);
    }
  }
  if (problems.length > 0) throw new InvalidArgumentError(`action inputs:\n  - ${problems.join('\n  - ')}`);
  return { data, typing: 'declared' };
}

/** The locally installed agent called `name` (built-in plugins/agent, then `<libdir>/agent`), if any. */
export async function findLocalAgent(name: string, libdirs: readonly string[], logger: Logger): Promise<Agent | undefined> {
  const { agents } = await loadAgents(agentDirectories(libdirs), logger);
  return agents.get(name);
}
