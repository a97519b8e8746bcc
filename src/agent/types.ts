/** The typed agent API: what an agent module declares and what its handlers receive. */
import type { ConfigView } from '../inter/config.js';
import type { Logger } from '../inter/logger.js';
import type { AgentDdl, AggregateDdl, DisplayPolicy } from './ddl.js';
import type { SenderProof } from '../inter/message.js';
import type { RegistrationCollectorView } from '../inter/registration.js';

/** The type of one action input. `list` is an array, `hash` a plain object, `any` anything JSON-like. */
export type InputType = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'hash' | 'any';

/** The declaration of one action input; inputs are validated before the handler runs. */
export interface InputSpec {
  type: InputType;
  description?: string;
  /** A short label for the input (`plugin doc`, prompts). */
  prompt?: string;
  /** Missing required inputs fail with status 3 (missing data). */
  required?: boolean;
  /** For strings: the value must match (status 4 otherwise). RE2 syntax only: no look-around, no back-references. */
  pattern?: RegExp;
  /** For strings: the longest accepted value. */
  maxLength?: number;
  /** Allowed values (compared with ===). */
  enum?: readonly (string | number | boolean)[];
  /** For integers and numbers: inclusive bounds. */
  min?: number;
  max?: number;
  /** Applied when the input is absent (before validation). */
  default?: unknown;
}

/** The declaration of one output field (documentation for clients and `agent_inventory`). */
export interface OutputSpec {
  description: string;
  type?: InputType;
  /** The label clients print instead of the field name. */
  display_as?: string;
  /** What clients show when a reply lacks the field. */
  default?: unknown;
}

/** The declared inputs of an action. */
export type InputSpecs = Record<string, InputSpec>;

/** The information about the hosting daemon an action may read (rpcutil uses all of it). */
export interface NodeView {
  readonly identity: string;
  readonly collectives: readonly string[];
  readonly mainCollective: string;
  /** The whole daemon configuration. */
  readonly config: ConfigView;
  facts(): Readonly<Record<string, string>>;
  classes(): readonly string[];
  agents(): readonly AgentSummary[];
  stats(): Record<string, unknown>;
  /** The description of a hosted agent (undefined when it is not hosted); what `rpcutil#agent_ddl` serves. */
  agentDdl?(name: string): AgentDdl | undefined;
  /**
   * The registration store of a collecting daemon (docs/daemon.md, "The registration agent and store"), open
   * while an agent that uses it (`registration`, `registration_query`) is hosted; undefined elsewhere.
   */
  registration?(): RegistrationCollectorView | undefined;
}

/** What `agent_inventory` reports about a hosted agent. */
export interface AgentSummary {
  agent: string;
  name: string;
  version: string;
  description: string;
  timeout: number;
  actions: string[];
}

/** What a handler receives besides its inputs. */
export interface ActionContext {
  readonly agent: string;
  readonly action: string;
  readonly requestid: string;
  /** `cert=<name>`: the authenticated caller. */
  readonly callerid: string;
  /** The sending node's identity as the request states it. */
  readonly senderid: string;
  readonly collective: string;
  /** `plugin.<agent>.*` settings with the prefix removed (`plugin.echo.greeting` -> `greeting`). */
  readonly config: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** Aborted when the action's timeout elapses or the daemon stops; long handlers should honour it. */
  readonly signal: AbortSignal;
  readonly node: NodeView;
  /** Ends the action with an explicit RPC status (1-5) and message; never returns. */
  fail(statuscode: 1 | 2 | 3 | 4 | 5, message: string): never;
}

/** The data an action replies with. */
export type ActionOutput = Record<string, unknown>;

/** An action: its documentation, its inputs and its handler. */
export interface ActionSpec {
  description: string;
  input?: InputSpecs;
  output?: Record<string, OutputSpec>;
  /** Which replies `tsco rpc` prints by default: `ok`, `failed` or `always` (the default). */
  display?: DisplayPolicy;
  /** Summaries clients compute over the outputs of the successful replies. */
  aggregate?: AggregateDdl[];
  /** Receives the validated inputs (defaults applied, nothing undeclared). */
  handler: (input: Record<string, unknown>, context: ActionContext) => ActionOutput | Promise<ActionOutput>;
}

/**
 * What a receiver of non-RPC data messages sees (the registration agent): the decoded body and who sent it.
 * The daemon only delivers messages whose senderid is bound to the signing key (`senderProof` is `key-name`,
 * `certificate`, `mapping` or `shared`), after authorization (as action `receiveAction`) and audit.
 */
export interface ReceiveContext {
  readonly agent: string;
  readonly requestid: string;
  /** `cert=<name>`: the signer, proven by the signature. */
  readonly callerid: string;
  /** The sending node's identity as the message states it; `senderProof` says how it is bound to the signer. */
  readonly senderid: string;
  /** How senderid is bound to the signer: `shared` means the signer is a key several servers share. */
  readonly senderProof: SenderProof;
  readonly collective: string;
  readonly msgtime: number;
  readonly config: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly node: NodeView;
}

/** What a receive handler returns: acknowledgement data, or nothing. */
export type ReceiveResult = Record<string, unknown> | void;

/** An agent definition as written by its author (see defineAgent). */
export interface AgentSpec {
  /** Lower-case letters, digits and underscores; the name requests address. */
  name: string;
  version: string;
  description: string;
  author?: string;
  license?: string;
  url?: string;
  /** Seconds an action may run before it is aborted with status 1. Default 10. */
  timeout?: number;
  actions: Record<string, ActionSpec>;
  /**
   * For data agents such as `registration`: handles every request body instead of RPC dispatch. An agent with
   * `receive` may have no actions. Returning a hash acknowledges the message: when it carries a reply-to, the
   * daemon replies status 0 with that hash as data (registration: `{stored: true, identity}`); returning nothing
   * sends no reply. A thrown error replies status 5 (when there is a reply-to) and is logged and counted.
   */
  receive?: (body: unknown, context: ReceiveContext) => ReceiveResult | Promise<ReceiveResult>;
  /** The action name data messages are authorized and audited as (default `receive`; registration: `register`). */
  receiveAction?: string;
  /** Whether the agent should be hosted with this configuration (default: yes). */
  activate?: (config: Readonly<Record<string, string>>, daemonConfig: ConfigView) => boolean;
}

/** A validated, frozen agent (the result of defineAgent). */
export interface Agent extends Readonly<Omit<AgentSpec, 'timeout'>> {
  readonly timeout: number;
  /** The agent's description (DDL): validated, frozen, served to clients by `rpcutil#agent_ddl`. */
  readonly ddl: AgentDdl;
  /** Marks objects built by defineAgent, so the loader can tell them from anything else. */
  readonly defined: true;
}
