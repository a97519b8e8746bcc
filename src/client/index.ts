/** The RPC client library (`tscollective/client`): discovery, requests, reply collection, statistics, exit codes and agent descriptions. */
export {
  RpcClient, replyBodyProblem,
  type RpcClientOptions, type CallOptions, type RpcCallOptions, type Discoverer, type DiscoveryRequest, type PingReply, type PingResult,
} from './client.js';
export { FlatFileDiscoverer, ListDiscoverer, parseNodeList, filterByIdentity } from './discovery.js';
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
  AgentDescriptions, DescriptionCache, defaultCacheDir, computeAggregates,
  type FoundDescription, type DescriptionOptions, type CacheLimits, type AggregateResult,
} from './ddl/index.js';
