/**
 * Agent discovery: ESM modules exporting a default agent (built by defineAgent) from the
 * project's compiled `plugins/agent/` and from each `<libdir>/agent/`. A directory holds
 * `<name>.js` files or `<name>/index.js` folders. Reloads re-import with a fresh module URL,
 * so changed files take effect on SIGHUP.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../inter/logger.js';
import { isAgent } from './define.js';
import type { Agent } from './types.js';

/** The compiled project agents (dist/plugins/agent). */
export const BUILTIN_AGENT_DIR = fileURLToPath(new URL('../../plugins/agent/', import.meta.url));

/** The agent directories for a daemon: the built-in one, then `<libdir>/agent` for each libdir. */
export function agentDirectories(libdirs: readonly string[], builtin = BUILTIN_AGENT_DIR): string[] {
  return [builtin, ...libdirs.map((dir) => join(resolve(dir), 'agent'))];
}

/** The result of scanning agent directories. */
export interface LoadedAgents {
  agents: Map<string, Agent>;
  /** Every module that could not be loaded, with the reason (also logged). */
  problems: string[];
}

function agentModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (entry.endsWith('.js') && !entry.endsWith('.test.js')) return [path];
      if (!entry.includes('.') && statSync(path).isDirectory() && existsSync(join(path, 'index.js'))) return [join(path, 'index.js')];
      return [];
    });
}

let generation = 0;

/**
 * Imports every agent module of `dirs`. The first definition of a name wins (later ones are
 * reported as problems). A module that fails to import or whose default export is not an
 * agent is reported, logged and skipped: one bad agent never stops the daemon.
 */
export async function loadAgents(dirs: readonly string[], logger: Logger): Promise<LoadedAgents> {
  generation++;
  const agents = new Map<string, Agent>();
  const problems: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      logger.debug({ dir }, 'agent directory does not exist');
      continue;
    }
    for (const path of agentModules(dir)) {
      try {
        const url = pathToFileURL(path);
        url.searchParams.set('generation', String(generation));
        const module = (await import(url.href)) as { default?: unknown };
        if (!isAgent(module.default)) {
          problems.push(`${path}: the default export is not an agent built with defineAgent`);
          continue;
        }
        const agent = module.default;
        const existing = agents.get(agent.name);
        if (existing) {
          problems.push(`${path}: agent ${agent.name} is already loaded from an earlier directory; ignored`);
          continue;
        }
        agents.set(agent.name, agent);
      } catch (error) {
        problems.push(`${path}: ${(error as Error).message}`);
      }
    }
  }
  for (const problem of problems) logger.error({ problem }, `agent not loaded: ${problem}`);
  return { agents, problems };
}
