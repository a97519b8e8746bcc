/** The typed agent API: define agents, validate their inputs, run actions, load agent modules. */
export { defineAgent, isAgent, AGENT_NAME, DEFAULT_AGENT_TIMEOUT } from './define.js';
export { checkInputs, inputProblem, parseInputText } from './inputs.js';
export type { InputCheck } from './inputs.js';
export { runAction, readRpcBody } from './run.js';
export type { ActionRequest, ActionEnvironment } from './run.js';
export { loadAgents, agentDirectories, BUILTIN_AGENT_DIR } from './loader.js';
export type { LoadedAgents } from './loader.js';
export type * from './types.js';
