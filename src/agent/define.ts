/**
 * defineAgent: checks an agent definition once, when its module loads, produces its description (DDL) and
 * freezes both. agentFromDescription builds an agent around a description instead (external agents).
 */
import { AgentDefinitionError } from '../errors.js';
import type { ActionSpec, Agent, AgentSpec, InputSpec } from './types.js';
import type { AgentDdl } from './ddl.js';
import { deepFreeze, descriptionProblems } from './ddl-check.js';
import { describeAgent } from './describe.js';
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
  return defineChecked(spec, true);
}

/**
 * defineAgent for the agents shipped in plugins/agent. Their specifications are checked as any agent's, but their
 * descriptions are checked against the DDL schema by test/unit/builtin-agents.test.ts rather than on every load: every
 * `tsco` run loads rpcutil for its description, and checking it costs the description validator and the regex
 * engine (about 30 ms of a 250 ms run).
 */
export function defineBuiltinAgent(spec: AgentSpec): Agent {
  return defineChecked(spec, false);
}

function defineChecked(spec: AgentSpec, checkDocument: boolean): Agent {
  const name = typeof spec?.name === 'string' ? spec.name : '(unnamed)';
  const problems: string[] = [];
  if (typeof spec !== 'object' || spec === null) throw new AgentDefinitionError(name, ['expected an agent definition object']);
  const nameIssue = nameProblem('agent', 'name', spec.name);
  if (nameIssue) problems.push(nameIssue);
  const versionIssue = nameProblem('version', 'version', spec.version);
  if (versionIssue) problems.push(versionIssue);
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
      const inputIssue = nameProblem('dataKey', `${where}.input`, input);
      if (inputIssue) problems.push(inputIssue);
      problems.push(...inputSpecProblems(`${where}.input.${input}`, inputSpec));
    }
  }
  if (problems.length > 0) throw new AgentDefinitionError(name, problems);
  // What the description adds: RE2-compatible patterns, defaults and enum values that fit, outputs, aggregates.
  const ddl = describeAgent(spec, timeout);
  const ddlIssues = checkDocument ? descriptionProblems(ddl) : [];
  if (ddlIssues.length > 0) throw new AgentDefinitionError(name, ddlIssues);
  return freezeAgent({ ...spec, timeout }, ddl);
}

function freezeAgent(spec: AgentSpec & { timeout: number }, ddl: AgentDdl): Agent {
  const frozenActions = Object.freeze(Object.fromEntries(Object.entries(spec.actions ?? {}).map(([key, value]) => [key, Object.freeze({ ...value })])));
  return Object.freeze({ ...spec, actions: frozenActions, ddl: deepFreeze(ddl), defined: true as const });
}


/**
 * An agent around a checked description (see checkDescription): each action's handler comes from
 * `handlerFor(action)`; inputs are validated against the description before a handler runs.
 */
export function agentFromDescription(ddl: AgentDdl, handlerFor: (action: string) => ActionSpec['handler']): Agent {
  const { metadata } = ddl;
  const actions = Object.fromEntries(Object.entries(ddl.actions).map(([action, described]) => [action, { description: described.description, handler: handlerFor(action) }]));
  const spec: AgentSpec & { timeout: number } = { name: metadata.name, version: metadata.version, description: metadata.description, timeout: metadata.timeout, actions };
  for (const key of ['author', 'license', 'url'] as const) if (metadata[key] !== undefined) spec[key] = metadata[key];
  return freezeAgent(spec, ddl);
}

/** Whether `value` is an agent built by defineAgent. */
export function isAgent(value: unknown): value is Agent {
  return typeof value === 'object' && value !== null && (value as { defined?: unknown }).defined === true;
}
