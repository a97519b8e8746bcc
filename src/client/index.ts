/** The RPC client library (`tscollective/client`): discovery, requests, reply collection, statistics, exit codes and agent descriptions. */
export {
  RpcClient, replyBodyProblem,
  type RpcClientOptions, type CallOptions, type RpcCallOptions, type Discoverer, type DiscoveryRequest, type DiscoveryEvent, type PingReply, type PingResult,
} from './client.js';
export { FlatFileDiscoverer, ListDiscoverer, parseNodeList, filterByIdentity, NODE_LIST_MAX_BYTES } from './discovery.js';
export {
  RegistrationDiscoverer, RegistrationQueryDiscoverer, registrationLabel, MAX_REGISTRATION_NODES, REGISTRATION_QUERY_AGENT,
  type RegistrationDiscoveryOptions, type RegistrationQueryOptions, type RegistrationAwareDiscoverer, type DiscoveredRegistration, type ActionCaller,
} from './registration-discovery.js';
export { buildFilter, emptyFilter, isEmptyFilter, plainIdentityTargets } from './filter.js';
export { parseNodeLimit, applyNodeLimit, limitCount, type NodeLimit } from './limit.js';
export { newRequestId, isRequestId } from './requestid.js';
export { ExitCode, exitCodeFor, senderAuthenticated, type RpcReply, type RpcResult, type RpcStats } from './stats.js';
export { replyIdentity } from './pending.js';
export { readClientSettings, type ClientSettings } from './settings.js';
export { connectClient, validateClientConfig, type ClientBuildOptions, type ClientSession } from './from-config.js';
export {
  AgentDescriptions, DescriptionCache, defaultCacheDir, computeAggregates, replyTimeoutMs, REPLY_MARGIN_MS,
  type FoundDescription, type DescriptionOptions, type CacheLimits, type AggregateResult,
} from './ddl/index.js';
// What a program using the installed package needs before connectClient: the built-in plugins (so their settings
// validate), then a configuration (`tscollective/client` is the only entry point besides `tscollective/agent`).
export { loadBuiltinPlugins, type PluginLoadResult } from '../runtime/builtin-plugins.js';
export { loadConfig, parseConfig, configFromObject, Config, type LoadOptions, type ParseOptions, type ObjectOptions } from '../config/index.js';
