/** Where a user's caches live: the XDG base directory rule, shared by every client-side cache. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/tscollective` when that is an absolute path, else `~/.cache/tscollective`. */
export function userCacheBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'tscollective');
}
