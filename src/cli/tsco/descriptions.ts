/**
 * How tsco finds the description of the agent it calls or documents: installed agents and description files,
 * the cache (`$XDG_CACHE_HOME/tscollective/ddl`), else `rpcutil#agent_ddl` on a node hosting it. Without one,
 * tsco says so once on standard error and carries on as before (inferred or `key:type=value` inputs).
 */
import type { AgentDdl } from '../../agent/ddl.js';
import { AgentDescriptions, DescriptionCache, type ClientSettings, type RpcCallOptions, type RpcClient } from '../../client/index.js';
import type { Logger } from '../../inter/logger.js';
import type { Streams } from './output.js';

/** The description sources for a tsco run: the configured libdirs and the user's cache. */
export function descriptionsFor(settings: Pick<ClientSettings, 'libdirs'>, logger: Logger, streams: Streams): AgentDescriptions {
  const cache = new DescriptionCache(undefined, {}, (problem) => streams.err(`tsco: warning: ${problem}\n`));
  return new AgentDescriptions({ libdirs: settings.libdirs, logger, cache });
}

/** The description of `agent`: local, cached, or fetched from a node matching the call; undefined (with a warning) when none is available. */
export async function describeForCall(
  descriptions: AgentDescriptions, client: RpcClient, agent: string, call: RpcCallOptions, streams: Streams,
): Promise<AgentDdl | undefined> {
  const found = await descriptions.find(agent);
  if (found) return found.ddl;
  const fetched = await descriptions.fetch(client, agent, call);
  if ('problem' in fetched) {
    streams.err(`tsco: warning: no description of agent ${agent} (${fetched.problem}); inputs are inferred, type them as key:type=value\n`);
    return undefined;
  }
  return fetched.ddl;
}
