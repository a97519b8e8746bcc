/**
 * Where a client finds an agent's description: the agents installed where it can see them (the built-in
 * `plugins/agent` and `<libdir>/agent`: modules, external agents and description-only `<name>.json` files), then
 * its cache, then a server: `rpcutil#agent_ddl` on one node hosting the agent, whose signed reply is checked like
 * any description and cached by agent name and version.
 */
import type { AgentDdl } from '../../agent/ddl.js';
import { checkDescription } from '../../agent/ddl-check.js';
import { agentDirectories, loadAgents } from '../../agent/loader.js';
import { AgentDescriptionError } from '../../errors.js';
import type { Logger } from '../../inter/logger.js';
import { StatusCode } from '../../inter/message.js';
import { checkName } from '../../names.js';
import type { RpcCallOptions, RpcClient } from '../client.js';
import type { DescriptionCache } from './cache.js';

/** A description and where it came from. */
export interface FoundDescription {
  ddl: AgentDdl;
  source: 'local' | 'cache' | 'network';
  /** For network descriptions: the node that served it. */
  from?: string;
}

/** What AgentDescriptions needs. */
export interface DescriptionOptions {
  libdirs: readonly string[];
  logger: Logger;
  cache?: DescriptionCache;
  /** The built-in agent directory (tests); BUILTIN_AGENT_DIR by default. */
  builtinDir?: string;
}

/** Finds agent descriptions locally, in the cache, or on a server. */
export class AgentDescriptions {
  private localDescriptions: Promise<Map<string, AgentDdl>> | undefined;

  constructor(private readonly options: DescriptionOptions) {}

  /** Descriptions of the locally installed agents (loaded once). */
  local(): Promise<Map<string, AgentDdl>> {
    this.localDescriptions ??= (async () => {
      const dirs = agentDirectories(this.options.libdirs, ...(this.options.builtinDir ? [this.options.builtinDir] : []));
      const loaded = await loadAgents(dirs, this.options.logger);
      const found = new Map<string, AgentDdl>();
      for (const [name, agent] of loaded.agents) found.set(name, agent.ddl);
      for (const [name, ddl] of loaded.descriptions) if (!found.has(name)) found.set(name, ddl);
      return found;
    })();
    return this.localDescriptions;
  }

  /**
   * The description of `agent` from the local agents (only those named after it are loaded: `<agent>.js`,
   * `<agent>.mjs`, `<agent>/`, `<agent>.json`) or the cache, without the network.
   */
  async find(agent: string): Promise<FoundDescription | undefined> {
    const local = this.localDescriptions ? (await this.localDescriptions).get(agent) : await this.localNamed(agent);
    if (local) return { ddl: local, source: 'local' };
    const cached = this.options.cache?.get(agent);
    return cached ? { ddl: cached, source: 'cache' } : undefined;
  }

  /** The local description of `agent`, loading only the agents named after it. */
  private async localNamed(agent: string): Promise<AgentDdl | undefined> {
    checkName('agent', 'agent', agent);
    const dirs = agentDirectories(this.options.libdirs, ...(this.options.builtinDir ? [this.options.builtinDir] : []));
    const loaded = await loadAgents(dirs, this.options.logger, { only: agent });
    return loaded.agents.get(agent)?.ddl ?? loaded.descriptions.get(agent);
  }

  /** Every known description, local ones first (a local agent hides a cached one of the same name). */
  async list(): Promise<FoundDescription[]> {
    const found = new Map<string, FoundDescription>();
    for (const ddl of (await this.local()).values()) found.set(ddl.metadata.name, { ddl, source: 'local' });
    for (const ddl of this.options.cache?.list() ?? []) if (!found.has(ddl.metadata.name)) found.set(ddl.metadata.name, { ddl, source: 'cache' });
    return [...found.values()].sort((a, b) => a.ddl.metadata.name.localeCompare(b.ddl.metadata.name));
  }

  /**
   * Asks one node hosting `agent` (within the call's filter) for its description with `rpcutil#agent_ddl`,
   * checks it and caches it. Resolves to the description, or to the reason there is none.
   */
  async fetch(client: RpcClient, agent: string, call: RpcCallOptions = {}): Promise<FoundDescription | { problem: string }> {
    checkName('agent', 'agent', agent);
    const { onReply: _ignored, onDiscovery: _discovery, batchSize: _batch, batchSleepMs: _sleep, ...options } = call;
    // A node list (identity-only discovery) cannot be asked who hosts the agent: one of its nodes is asked instead.
    const filter = options.discoverer?.identityOnly ? options.filter : { ...options.filter, agent: [...(options.filter?.agent ?? []), agent] };
    const result = await client.call('rpcutil', 'agent_ddl', { agent }, { ...options, ...(filter ? { filter } : {}), limit: { count: 1 } });
    const reply = result.items.find((item) => item.statuscode === StatusCode.OK);
    if (!reply) {
      const failed = result.items[0];
      if (failed) return { problem: `${failed.sender} refused rpcutil#agent_ddl: ${failed.statusmsg}` };
      return { problem: result.stats.discovered === 0 ? `no node hosting ${agent} answered discovery` : 'no node answered rpcutil#agent_ddl' };
    }
    let ddl: AgentDdl;
    try {
      ddl = checkDescription(reply.data['ddl'], `rpcutil#agent_ddl reply from ${reply.sender}`);
    } catch (error) {
      if (error instanceof AgentDescriptionError) return { problem: error.message };
      throw error;
    }
    if (ddl.metadata.name !== agent) return { problem: `${reply.sender} answered with the description of ${ddl.metadata.name}, not ${agent}` };
    this.options.cache?.put(ddl);
    return { ddl, source: 'network', from: reply.sender };
  }
}
