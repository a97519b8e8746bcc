/**
 * Agent discovery: from the project's compiled `plugins/agent/` and from each `<libdir>/agent/`. A directory holds
 * - ES modules exporting a default agent (built by defineAgent): `<name>.js`, `<name>.mjs`, or a folder
 *   `<name>/index.js` / `<name>/index.mjs` (an agent package; `import ... from 'tscollective/agent'` resolves to
 *   this installation, see resolve-hooks.ts);
 * - external agents: `<name>.json` (the description) beside an executable `<name>` (see external.ts);
 * - descriptions alone: `<name>.json` without an executable documents an agent for clients (`descriptions`).
 * Modules are imported with a version query made of their files' modification times and sizes, so a reload
 * (SIGHUP) picks up new and changed agents, and an unchanged module is not imported again.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../inter/logger.js';
import { DDL_LIMITS, type AgentDdl } from './ddl.js';
import { checkDescription } from './ddl-check.js';
import { agentFromDescription, isAgent } from './define.js';
import { externalHandler } from './external.js';
import { VERSION_PARAM } from './resolve-hooks.js';
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
  /** Every module or description that could not be loaded, with the reason (also logged). */
  problems: string[];
  /** Descriptions found without an agent to host (`<name>.json` without an executable), for clients. */
  descriptions: Map<string, AgentDdl>;
}

type Entry = { kind: 'module'; path: string; files: string[] } | { kind: 'external'; path: string; executable: string } | { kind: 'description'; path: string };

const MODULE = /\.(m?js)$/;
const MAX_FINGERPRINT_FILES = 1000;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The files whose times and sizes version an agent folder (bounded, node_modules excluded). */
function folderFiles(dir: string): string[] {
  const files: string[] = [];
  const pending = [dir];
  while (pending.length > 0 && files.length < MAX_FINGERPRINT_FILES) {
    const current = pending.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) files.push(path);
    }
  }
  return files;
}

/** The file or folder name an agent called `agent` would have: `<agent>`, `<agent>.js`, `<agent>.mjs`, `<agent>.json`. */
function namedAfter(name: string, agent: string): boolean {
  return name === agent || name === `${agent}.js` || name === `${agent}.mjs` || name === `${agent}.json`;
}

function agentEntries(dir: string, only?: string): Entry[] {
  const entries: Entry[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (only !== undefined && !namedAfter(name, only)) continue;
    const path = join(dir, name);
    if (MODULE.test(name) && !name.endsWith('.test.js') && isFile(path)) {
      entries.push({ kind: 'module', path, files: [path] });
    } else if (!name.includes('.') && statSync(path).isDirectory()) {
      const index = ['index.js', 'index.mjs'].map((file) => join(path, file)).find(isFile);
      if (index) entries.push({ kind: 'module', path: index, files: folderFiles(path) });
    } else if (name.endsWith('.json')) {
      const executable = join(dir, basename(name, '.json'));
      entries.push(isFile(executable) ? { kind: 'external', path, executable } : { kind: 'description', path });
    }
  }
  return entries;
}

/** A version for `files`: their modification times and sizes, so any change makes a new module URL. */
function fingerprint(files: readonly string[]): string {
  let hash = 0;
  for (const file of files) {
    const info = statSync(file);
    for (const char of `${file}:${info.mtimeMs}:${info.size};`) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  }
  return `${files.length}-${(hash >>> 0).toString(36)}`;
}

let hooksRegistered = false;

/** Registers the resolution hooks (once per process) before any agent module is imported. */
function registerHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register('./resolve-hooks.js', import.meta.url);
}

/** Reads and checks a description file (bounded in size before it is parsed). */
export function readDescriptionFile(path: string): AgentDdl {
  const size = statSync(path).size;
  if (size > DDL_LIMITS.bytes) throw new Error(`larger than ${DDL_LIMITS.bytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  return checkDescription(parsed, path);
}

function externalAgent(path: string, executable: string): Agent {
  const ddl = readDescriptionFile(path);
  const name = basename(executable);
  if (ddl.metadata.name !== name) throw new Error(`describes agent ${ddl.metadata.name}, but the file and executable are named ${name}`);
  const info = lstatSync(executable);
  if (info.isSymbolicLink()) throw new Error(`${executable} is a symbolic link; install the executable itself`);
  if ((info.mode & 0o111) === 0) throw new Error(`${executable} is not executable (chmod +x)`);
  if ((info.mode & 0o022) !== 0) throw new Error(`${executable} is writable by group or others (mode ${(info.mode & 0o777).toString(8)}); it runs as the daemon`);
  return agentFromDescription(ddl, (action) => externalHandler(executable, ddl, action));
}

async function importAgent(entry: Extract<Entry, { kind: 'module' }>): Promise<Agent> {
  // The project's own agents import its files by relative paths; only agents installed elsewhere need the hooks
  // (registering them starts the loader's hook thread, which a client run looking up rpcutil does not need).
  if (!entry.path.startsWith(BUILTIN_AGENT_DIR)) registerHooks();
  const url = pathToFileURL(entry.path);
  url.searchParams.set(VERSION_PARAM, fingerprint(entry.files));
  const module = (await import(url.href)) as { default?: unknown };
  if (!isAgent(module.default)) throw new Error('the default export is not an agent built with defineAgent');
  return module.default;
}

/** What loadAgents loads. */
export interface LoadAgentsOptions {
  /**
   * Only the files and folders named after this agent (`<name>.js`, `<name>.mjs`, `<name>/`, `<name>.json`), as
   * MCollective's client finds `<name>.ddl`: a client looking up one description does not import every agent.
   */
  only?: string;
}

/**
 * Loads every agent of `dirs` (or only the one `options.only` names). The first definition of a name wins (later
 * ones are reported as problems). A module that fails to import, whose default export is not an agent, or an
 * external agent whose description or executable is unfit, is reported, logged and skipped: one bad agent never
 * stops the daemon.
 */
export async function loadAgents(dirs: readonly string[], logger: Logger, options: LoadAgentsOptions = {}): Promise<LoadedAgents> {
  const agents = new Map<string, Agent>();
  const descriptions = new Map<string, AgentDdl>();
  const problems: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      logger.debug({ dir }, 'agent directory does not exist');
      continue;
    }
    for (const entry of agentEntries(dir, options.only)) {
      try {
        if (entry.kind === 'description') {
          const ddl = readDescriptionFile(entry.path);
          if (!descriptions.has(ddl.metadata.name)) descriptions.set(ddl.metadata.name, ddl);
          continue;
        }
        const agent = entry.kind === 'module' ? await importAgent(entry) : externalAgent(entry.path, entry.executable);
        if (agents.has(agent.name)) {
          problems.push(`${entry.path}: agent ${agent.name} is already loaded from an earlier directory; ignored`);
          continue;
        }
        agents.set(agent.name, agent);
      } catch (error) {
        problems.push(`${entry.path}: ${(error as Error).message}`);
      }
    }
  }
  for (const problem of problems) logger.error({ problem }, `agent not loaded: ${problem}`);
  return { agents, problems, descriptions };
}
