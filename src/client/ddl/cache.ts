/**
 * The client's cache of agent descriptions fetched from servers, by agent name and version: one file
 * `<agent>@<version>.json` each, in `$XDG_CACHE_HOME/tscollective/ddl` (else `~/.cache/tscollective/ddl`).
 * Bounded in entries and bytes (the oldest are evicted), each file bounded in size and checked like any
 * description when read; a file that fails its check is removed and reported, never used.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DDL_LIMITS, type AgentDdl } from '../../agent/ddl.js';
import { checkDescription } from '../../agent/ddl-check.js';
import { isName } from '../../names.js';
import { userCacheBase } from '../../util/cache-dir.js';

/** The cache directory: `$XDG_CACHE_HOME/tscollective/ddl`, else `~/.cache/tscollective/ddl`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(userCacheBase(env), 'ddl');
}

/** Bounds of a cache. */
export interface CacheLimits {
  /** Files kept at most; 256 by default. */
  entries?: number;
  /** Bytes kept at most; 16 MiB by default. */
  bytes?: number;
}

interface CachedFile { path: string; agent: string; mtimeMs: number; size: number }

/** Agent descriptions cached on disk by agent name and version. */
export class DescriptionCache {
  private readonly maxEntries: number;
  private readonly maxBytes: number;

  /** `onProblem` hears about every cached file that was unusable (and removed). */
  constructor(readonly dir: string = defaultCacheDir(), limits: CacheLimits = {}, private readonly onProblem: (problem: string) => void = () => {}) {
    this.maxEntries = limits.entries ?? 256;
    this.maxBytes = limits.bytes ?? 16 * 1024 * 1024;
  }

  /** The most recently stored description of `agent`, if one is cached and valid. */
  get(agent: string): AgentDdl | undefined {
    if (!isName('agent', agent)) return undefined;
    for (const file of this.files().filter((f) => f.agent === agent)) {
      const ddl = this.read(file);
      if (ddl) return ddl;
    }
    return undefined;
  }

  /** The newest valid description of every cached agent. */
  list(): AgentDdl[] {
    const seen = new Map<string, AgentDdl>();
    for (const file of this.files()) {
      if (seen.has(file.agent)) continue;
      const ddl = this.read(file);
      if (ddl) seen.set(file.agent, ddl);
    }
    return [...seen.values()];
  }

  /** Stores a (checked) description, replacing the same version, then evicts beyond the bounds. */
  put(ddl: AgentDdl): void {
    const { name, version } = ddl.metadata;
    // Checked descriptions follow the name rules, so the file name is always plain.
    if (!isName('agent', name) || !isName('version', version)) throw new Error(`cannot cache ${name}@${version}: not a valid name and version`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${name}@${version}.json`);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(ddl, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
    this.evict();
  }

  /** Cached files, newest first. */
  private files(): CachedFile[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const files: CachedFile[] = [];
    for (const name of names) {
      const match = /^([^@]+)@[^/]+\.json$/.exec(name);
      if (!match) continue;
      try {
        const info = statSync(join(this.dir, name));
        if (info.isFile()) files.push({ path: join(this.dir, name), agent: match[1]!, mtimeMs: info.mtimeMs, size: info.size });
      } catch {
        // Removed meanwhile by another tsco.
      }
    }
    return files.sort((a, b) => b.mtimeMs - a.mtimeMs);
  }

  private read(file: CachedFile): AgentDdl | undefined {
    try {
      if (file.size > DDL_LIMITS.bytes) throw new Error(`larger than ${DDL_LIMITS.bytes} bytes`);
      const ddl = checkDescription(JSON.parse(readFileSync(file.path, 'utf8')), file.path);
      if (ddl.metadata.name !== file.agent) throw new Error(`describes agent ${ddl.metadata.name}`);
      return ddl;
    } catch (error) {
      this.onProblem(`cached description ${file.path} is unusable and was removed: ${(error as Error).message}`);
      this.remove(file.path);
      return undefined;
    }
  }

  private evict(): void {
    let bytes = 0;
    for (const [index, file] of this.files().entries()) {
      bytes += file.size;
      if (index >= this.maxEntries || bytes > this.maxBytes) this.remove(file.path);
    }
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}
