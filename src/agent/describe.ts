/**
 * From agent code to its description: the agent-code declarations (InputSpec with RegExp patterns and the
 * `list`/`hash` type names, `required` flags) become the description's JSON form (RE2 pattern text, JSON Schema
 * type names, `optional`). defineAgent runs this once per agent; the result is checked like any description.
 */
import type { ActionDdl, AgentDdl, DdlType, InputDdl, OutputDdl } from './ddl.js';
import type { ActionSpec, AgentSpec, InputSpec, InputType, OutputSpec } from './types.js';

const TYPE_NAMES: Record<string, DdlType> = { list: 'array', hash: 'object' };

/** The description type of an agent-code type name (`list` is `array`, `hash` is `object`). */
export function ddlType(type: InputType | DdlType): DdlType {
  return TYPE_NAMES[type] ?? (type as DdlType);
}

/** The RE2 text of a RegExp: its source, with the i, m and s flags as inline flags. */
export function patternText(pattern: RegExp): string {
  const inline = [...pattern.flags].filter((flag) => flag === 'i' || flag === 'm' || flag === 's').join('');
  return inline === '' ? pattern.source : `(?${inline})${pattern.source}`;
}

/** The description of one agent-code input. */
export function inputDdl(spec: InputSpec): InputDdl {
  const input: InputDdl = { type: ddlType(spec.type) };
  if (spec.prompt !== undefined) input.prompt = spec.prompt;
  if (spec.description !== undefined) input.description = spec.description;
  input.optional = spec.required !== true;
  if (spec.pattern instanceof RegExp) input.pattern = patternText(spec.pattern);
  if (spec.maxLength !== undefined) input.maxLength = spec.maxLength;
  if (spec.min !== undefined) input.minimum = spec.min;
  if (spec.max !== undefined) input.maximum = spec.max;
  if (spec.enum !== undefined) input.enum = [...spec.enum];
  if (spec.default !== undefined) input.default = spec.default;
  return input;
}

function outputDdl(spec: OutputSpec): OutputDdl {
  const output: OutputDdl = { description: spec.description };
  if (spec.display_as !== undefined) output.display_as = spec.display_as;
  if (spec.type !== undefined) output.type = ddlType(spec.type);
  if (spec.default !== undefined) output.default = spec.default;
  return output;
}

function actionDdl(spec: ActionSpec): ActionDdl {
  const action: ActionDdl = { description: spec.description, display: spec.display ?? 'always' };
  if (spec.input) action.input = Object.fromEntries(Object.entries(spec.input).map(([name, input]) => [name, inputDdl(input)]));
  if (spec.output) action.output = Object.fromEntries(Object.entries(spec.output).map(([name, output]) => [name, outputDdl(output)]));
  if (spec.aggregate) action.aggregate = spec.aggregate.map((aggregate) => ({ ...aggregate }));
  return action;
}

/** The description of an agent written with defineAgent (unchecked: defineAgent checks it). */
export function describeAgent(spec: AgentSpec, timeout: number): AgentDdl {
  const metadata: AgentDdl['metadata'] = { name: spec.name, description: spec.description, version: spec.version, timeout };
  for (const key of ['author', 'license', 'url'] as const) if (spec[key] !== undefined) metadata[key] = spec[key];
  return { metadata, actions: Object.fromEntries(Object.entries(spec.actions ?? {}).map(([name, action]) => [name, actionDdl(action)])) };
}
