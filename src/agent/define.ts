/** defineAgent: checks an agent definition once, when its module loads, and freezes it. */
import { AgentDefinitionError } from '../errors.js';
import type { Agent, AgentSpec, InputSpec } from './types.js';
import { NAME_RULES, nameProblem } from '../names.js';

/** Agent names: what requests and policy files may address (NAME_RULES.agent). */
export const AGENT_NAME = NAME_RULES.agent.pattern;
const INPUT_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'list', 'hash', 'any']);
/** The default action timeout in seconds (MCollective's). */
export const DEFAULT_AGENT_TIMEOUT = 10;

function inputSpecProblems(where: string, spec: unknown): string[] {
  if (typeof spec !== 'object' || spec === null) return [`${where}: expected an object with a type`];
  const input = spec as InputSpec;
  const problems: string[] = [];
  if (!INPUT_TYPES.has(input.type)) problems.push(`${where}.type: ${JSON.stringify(input.type)} is not one of ${[...INPUT_TYPES].join(', ')}`);
  if (input.pattern !== undefined && !(input.pattern instanceof RegExp)) problems.push(`${where}.pattern: expected a RegExp`);
  if (input.pattern !== undefined && input.type !== 'string') problems.push(`${where}.pattern: only string inputs take a pattern`);
  if (input.maxLength !== undefined && !(Number.isInteger(input.maxLength) && input.maxLength > 0)) problems.push(`${where}.maxLength: expected a positive integer`);
  for (const bound of ['min', 'max'] as const) {
    if (input[bound] !== undefined && typeof input[bound] !== 'number') problems.push(`${where}.${bound}: expected a number`);
  }
  if (input.enum !== undefined && (!Array.isArray(input.enum) || input.enum.length === 0)) problems.push(`${where}.enum: expected a non-empty list`);
  return problems;
}

/**
 * Validates and freezes an agent definition. Throws AgentDefinitionError listing every problem
 * (bad names, missing handlers, malformed input declarations, a bad timeout).
 */
export function defineAgent(spec: AgentSpec): Agent {
  const name = typeof spec?.name === 'string' ? spec.name : '(unnamed)';
  const problems: string[] = [];
  if (typeof spec !== 'object' || spec === null) throw new AgentDefinitionError(name, ['expected an agent definition object']);
  const nameIssue = nameProblem('agent', 'name', spec.name);
  if (nameIssue) problems.push(nameIssue);
  if (typeof spec.version !== 'string' || spec.version === '') problems.push('version: expected a non-empty string');
  if (typeof spec.description !== 'string' || spec.description === '') problems.push('description: expected a non-empty string');
  const timeout = spec.timeout ?? DEFAULT_AGENT_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) problems.push(`timeout: expected a positive number of seconds, got ${String(spec.timeout)}`);
  if (spec.receive !== undefined && typeof spec.receive !== 'function') problems.push('receive: expected a function');
  if (spec.activate !== undefined && typeof spec.activate !== 'function') problems.push('activate: expected a function');
  if (spec.receiveAction !== undefined) {
    const receiveActionIssue = nameProblem('action', 'receiveAction', spec.receiveAction);
    if (receiveActionIssue) problems.push(receiveActionIssue);
    if (!spec.receive) problems.push('receiveAction: only an agent with a receive handler takes one');
  }
  const actions = spec.actions ?? {};
  if (typeof actions !== 'object') problems.push('actions: expected an object');
  else if (Object.keys(actions).length === 0 && !spec.receive) problems.push('actions: an agent needs at least one action (or a receive handler)');
  for (const [action, definition] of Object.entries(actions)) {
    const where = `actions.${action}`;
    const actionIssue = nameProblem('action', where, action);
    if (actionIssue) problems.push(actionIssue);
    if (typeof definition !== 'object' || definition === null) { problems.push(`${where}: expected an object`); continue; }
    if (typeof definition.description !== 'string' || definition.description === '') problems.push(`${where}.description: expected a non-empty string`);
    if (typeof definition.handler !== 'function') problems.push(`${where}.handler: expected a function`);
    for (const [input, inputSpec] of Object.entries(definition.input ?? {})) {
      problems.push(...inputSpecProblems(`${where}.input.${input}`, inputSpec));
    }
  }
  if (problems.length > 0) throw new AgentDefinitionError(name, problems);
  const frozenActions = Object.freeze(Object.fromEntries(Object.entries(actions).map(([key, value]) => [key, Object.freeze({ ...value })])));
  return Object.freeze({ ...spec, timeout, actions: frozenActions, defined: true as const });
}

/** Whether `value` is an agent built by defineAgent. */
export function isAgent(value: unknown): value is Agent {
  return typeof value === 'object' && value !== null && (value as { defined?: unknown }).defined === true;
}
