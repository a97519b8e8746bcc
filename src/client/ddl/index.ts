/** Agent descriptions on the client: finding them (local, cache, network), caching them, aggregating replies. */
export { AgentDescriptions } from './descriptions.js';
export type { FoundDescription, DescriptionOptions } from './descriptions.js';
export { DescriptionCache, defaultCacheDir } from './cache.js';
export type { CacheLimits } from './cache.js';
export { computeAggregates } from './aggregate.js';
export type { AggregateResult } from './aggregate.js';
export { replyTimeoutMs, REPLY_MARGIN_MS } from './timeout.js';
