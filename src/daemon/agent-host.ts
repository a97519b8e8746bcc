/**
 * The agents a daemon hosts: loaded from the agent directories (src/agent/loader.ts) plus in-process ones,
 * filtered by activation (`activate_agents`, `plugin.<agent>.activate_agent`, the agent's own activate check),
 * kept in one map that a reload replaces as a whole, and described for `agent_inventory`.
 */
import { loadAgents } from '../agent/loader.js';
import type { Agent, AgentSummary } from '../agent/types.js';
import type { ConfigView } from '../inter/config.js';
import type { Logger } from '../inter/logger.js';
import { pluginSettings } from './settings.js';

/** An agent as hosted by a daemon, with its `plugin.<agent>.*` settings. */
export interface HostedAgent {
  agent: Agent;
  config: Readonly<Record<string, string>>;
}

/** What an AgentHost loads from. */
export interface AgentHostOptions {
  config: ConfigView;
  /** The `activate_agents` setting: whether agents without their own activate_agent are hosted. */
  activateAgents: boolean;
  /** Agent module directories, searched in order. */
  agentDirs: readonly string[];
  /** Agents defined in-process (the demo, tests); these win on a name clash with loaded ones. */
  extraAgents: readonly Agent[];
  logger: Logger;
}

const TRUE_WORDS = /^(1|true|yes|y|on)$/i;

/** The set of hosted agents; `load()` (start-up and SIGHUP) replaces it. */
export class AgentHost {
  private hosted = new Map<string, HostedAgent>();

  constructor(private readonly options: AgentHostOptions) {}

  /**
   * Loads every agent module, activates the ones this configuration enables and replaces the hosted set.
   * Returns the modules that failed to load (already logged by the loader); one bad agent never stops the daemon.
   */
  async load(): Promise<string[]> {
    const loaded = await loadAgents(this.options.agentDirs, this.options.logger);
    for (const agent of this.options.extraAgents) loaded.agents.set(agent.name, agent);
    const active = new Map<string, HostedAgent>();
    for (const agent of loaded.agents.values()) {
      const entry = this.activate(agent);
      if (entry) active.set(agent.name, entry);
    }
    this.hosted = active;
    return loaded.problems;
  }

  /** The hosted agent called `name`, or undefined. */
  get(name: string): HostedAgent | undefined {
    return this.hosted.get(name);
  }

  /** Names of the hosted agents, sorted. */
  names(): string[] {
    return [...this.hosted.keys()].sort();
  }

  /** What `agent_inventory` reports about each hosted agent. */
  summaries(): AgentSummary[] {
    return [...this.hosted.values()].map(({ agent }) => ({
      agent: agent.name,
      name: agent.name,
      version: agent.version,
      description: agent.description,
      timeout: agent.timeout,
      actions: Object.keys(agent.actions).sort(),
    }));
  }

  private activate(agent: Agent): HostedAgent | undefined {
    const { config, activateAgents, logger } = this.options;
    const agentConfig = pluginSettings(config, agent.name);
    const explicit = agentConfig['activate_agent'];
    const enabled = explicit === undefined ? activateAgents : TRUE_WORDS.test(explicit.trim());
    if (!enabled) return undefined;
    try {
      if (agent.activate && !agent.activate(agentConfig, config)) return undefined;
    } catch (error) {
      logger.error({ err: error, agent: agent.name }, `agent ${agent.name} failed its activation check; not hosted`);
      return undefined;
    }
    return { agent, config: agentConfig };
  }
}
