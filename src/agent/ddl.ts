/**
 * The agent description (DDL) as data: what an agent is, and per action its display policy, inputs (as JSON
 * Schema keywords), outputs and aggregate functions. `defineAgent` produces one for every agent, external agents
 * ship one as a JSON file, daemons serve them (`rpcutil#agent_ddl`) and clients cache them. `DDL_SCHEMA` is the
 * JSON Schema of a description; every description is checked against it (plus the checks JSON Schema cannot say:
 * name rules, linear-time patterns, defaults that fit their input) wherever it comes from: see ddl-check.ts.
 */
import { NAME_RULES } from '../names.js';

/** The value types of inputs and outputs; JSON Schema's names, plus `any` (no constraint). */
export const DDL_TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'any'] as const;
/** One value type of an input or output. */
export type DdlType = (typeof DDL_TYPES)[number];

/** Which replies `tsco rpc` prints: successful ones, failed ones, or all of them. */
export const DISPLAY_POLICIES = ['ok', 'failed', 'always'] as const;
/** An action's display policy. */
export type DisplayPolicy = (typeof DISPLAY_POLICIES)[number];

/** The aggregate functions a client computes over the successful replies of a call. */
export const AGGREGATE_FUNCTIONS = ['summary', 'boolean_summary', 'count', 'average', 'sum', 'min', 'max'] as const;
/** One aggregate function. */
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** An input: its type and constraints (JSON Schema keywords), and how to present it. */
export interface InputDdl {
  type: DdlType;
  /** A short label for interactive use and `plugin doc`. */
  prompt?: string;
  description?: string;
  /** Whether the input may be left out; true unless declared false. */
  optional?: boolean;
  /** For strings: a linear-time (RE2) regular expression the value must contain a match of (anchor it with ^ and $). */
  pattern?: string;
  /** For strings: the longest accepted value, in characters. */
  maxLength?: number;
  /** For integers and numbers: inclusive bounds. */
  minimum?: number;
  maximum?: number;
  /** The allowed values. */
  enum?: Array<string | number | boolean>;
  /** Applied when the input is absent; must itself be valid. */
  default?: unknown;
}

/** An output field of a reply. */
export interface OutputDdl {
  /** The label clients print; the field's name when absent. */
  display_as?: string;
  description: string;
  /** The field's type; `any` when absent. */
  type?: DdlType;
  /** What a client shows when a reply lacks the field (and what an external agent's reply is given). */
  default?: unknown;
}

/** An aggregate function over one output of the successful replies. */
export interface AggregateDdl {
  function: AggregateFunction;
  /** The output the function reads. */
  output: string;
  /** For boolean_summary: labels for true and false. */
  labels?: { true: string; false: string };
}

/** An action's description. */
export interface ActionDdl {
  description: string;
  /** Which replies `tsco rpc` prints by default; `always` when absent. */
  display?: DisplayPolicy;
  input?: Record<string, InputDdl>;
  output?: Record<string, OutputDdl>;
  aggregate?: AggregateDdl[];
}

/** What an agent is. */
export interface AgentMetadata {
  name: string;
  description: string;
  version: string;
  author?: string;
  license?: string;
  url?: string;
  /** Seconds an action may run before it is aborted. */
  timeout: number;
}

/** An agent's description (DDL). */
export interface AgentDdl {
  metadata: AgentMetadata;
  actions: Record<string, ActionDdl>;
}

/** Bounds on a description, so one from the network or a file costs bounded work before it is refused. */
export const DDL_LIMITS = Object.freeze({
  /** The largest description document, in bytes of JSON. */
  bytes: 1024 * 1024,
  actions: 256,
  inputs: 128,
  outputs: 256,
  aggregates: 64,
  enumValues: 1024,
  text: 4096,
  pattern: 1024,
});

const text = { type: 'string', maxLength: DDL_LIMITS.text } as const;
const nonEmptyText = { type: 'string', minLength: 1, maxLength: DDL_LIMITS.text } as const;
const names = (kind: 'action' | 'dataKey') => ({ maxLength: NAME_RULES[kind].maxLength, pattern: NAME_RULES[kind].pattern.source });
const scalar = { type: ['string', 'number', 'boolean'] } as const;

/** The JSON Schema (draft-07) of an agent description. */
export const DDL_SCHEMA = Object.freeze({
  $id: 'https://tscollective.invalid/schemas/agent-ddl.json',
  type: 'object',
  required: ['metadata', 'actions'],
  additionalProperties: false,
  properties: {
    $schema: text,
    metadata: {
      type: 'object',
      required: ['name', 'description', 'version', 'timeout'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', maxLength: NAME_RULES.agent.maxLength, pattern: NAME_RULES.agent.pattern.source },
        description: nonEmptyText,
        version: { type: 'string', maxLength: NAME_RULES.version.maxLength, pattern: NAME_RULES.version.pattern.source },
        author: text,
        license: text,
        url: text,
        timeout: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
      },
    },
    actions: {
      type: 'object',
      maxProperties: DDL_LIMITS.actions,
      propertyNames: names('action'),
      additionalProperties: {
        type: 'object',
        required: ['description'],
        additionalProperties: false,
        properties: {
          description: nonEmptyText,
          display: { enum: [...DISPLAY_POLICIES] },
          input: {
            type: 'object',
            maxProperties: DDL_LIMITS.inputs,
            propertyNames: names('dataKey'),
            additionalProperties: {
              type: 'object',
              required: ['type'],
              additionalProperties: false,
              properties: {
                type: { enum: [...DDL_TYPES] },
                prompt: text,
                description: text,
                optional: { type: 'boolean' },
                pattern: { type: 'string', minLength: 1, maxLength: DDL_LIMITS.pattern },
                maxLength: { type: 'integer', minimum: 1, maximum: 1_048_576 },
                minimum: { type: 'number' },
                maximum: { type: 'number' },
                enum: { type: 'array', minItems: 1, maxItems: DDL_LIMITS.enumValues, items: scalar },
                default: {},
              },
            },
          },
          output: {
            type: 'object',
            maxProperties: DDL_LIMITS.outputs,
            propertyNames: names('dataKey'),
            additionalProperties: {
              type: 'object',
              required: ['description'],
              additionalProperties: false,
              properties: {
                display_as: { type: 'string', minLength: 1, maxLength: 128 },
                description: text,
                type: { enum: [...DDL_TYPES] },
                default: {},
              },
            },
          },
          aggregate: {
            type: 'array',
            maxItems: DDL_LIMITS.aggregates,
            items: {
              type: 'object',
              required: ['function', 'output'],
              additionalProperties: false,
              properties: {
                function: { enum: [...AGGREGATE_FUNCTIONS] },
                output: { type: 'string', ...names('dataKey') },
                labels: {
                  type: 'object',
                  required: ['true', 'false'],
                  additionalProperties: false,
                  properties: { true: { type: 'string', maxLength: 128 }, false: { type: 'string', maxLength: 128 } },
                },
              },
            },
          },
        },
      },
    },
  },
});

/** An action's display policy, `always` when it declares none. */
export function displayPolicy(action: ActionDdl): DisplayPolicy {
  return action.display ?? 'always';
}

/** An output's label: its display name, else its field name. */
export function displayName(name: string, output: OutputDdl | undefined): string {
  return output?.display_as ?? name;
}

/** Whether an input must be given (declared `optional: false` and without a default). */
export function inputRequired(input: InputDdl): boolean {
  return input.optional === false && input.default === undefined;
}
