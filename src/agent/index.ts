/**
 * The typed agent API (`tscollective/agent`): define agents and their descriptions (DDL), validate inputs and
 * outputs, run actions, load agent modules and external agents.
 */
export { defineAgent, agentFromDescription, isAgent, AGENT_NAME, DEFAULT_AGENT_TIMEOUT } from './define.js';
export { checkInputs, checkActionInputs, inputProblem, inputValueProblem, parseInputText, typeProblem } from './inputs.js';
export type { InputCheck } from './inputs.js';
export { checkActionOutputs } from './outputs.js';
export type { OutputCheck } from './outputs.js';
export {
  DDL_SCHEMA, DDL_LIMITS, DDL_TYPES, DISPLAY_POLICIES, AGGREGATE_FUNCTIONS, displayPolicy, displayName, inputRequired,
} from './ddl.js';
export type { AgentDdl, ActionDdl, InputDdl, OutputDdl, AggregateDdl, AgentMetadata, DdlType, DisplayPolicy, AggregateFunction } from './ddl.js';
export { checkDescription, descriptionProblems } from './ddl-check.js';
export { EXTERNAL_PROTOCOL, EXTERNAL_LIMITS } from './external.js';
export type { ExternalRequest } from './external.js';
export { runAction, readRpcBody } from './run.js';
export type { ActionRequest, ActionEnvironment } from './run.js';
export { loadAgents, agentDirectories, readDescriptionFile, BUILTIN_AGENT_DIR } from './loader.js';
export type { LoadedAgents } from './loader.js';
export type * from './types.js';
