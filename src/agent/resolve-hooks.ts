/**
 * Module resolution hooks for agents installed outside this package (`<libdir>/agent/...`), registered by the
 * loader with node:module `register`:
 * - `tscollective` and `tscollective/*` resolve to this installation's exports (package.json `exports`), as if
 *   the agent were inside the package, so `import { defineAgent } from 'tscollective/agent'` works from any folder
 *   and the agent shares the daemon's modules;
 * - a relative import from a module loaded with a version query (`?v=...`, see loader.ts) carries the same query,
 *   so a reload re-imports a changed agent folder as a whole, not just its entry module. Imports of this package's
 *   own files and of node_modules never do: they stay single instances.
 */

/** The query parameter the loader versions agent modules with. */
export const VERSION_PARAM = 'v';
const SELF = 'tscollective';
/** This package's root (the hook runs from dist/src/agent/). */
const PACKAGE_ROOT = new URL('../../../', import.meta.url).href;

interface ResolveContext { parentURL?: string; conditions?: string[]; importAttributes?: Record<string, string> }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult | Promise<ResolveResult>;

/** The resolve hook (see the module comment). */
export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  if (specifier === SELF || specifier.startsWith(`${SELF}/`)) {
    // Resolved from inside this package: Node's self-reference through package.json "exports".
    return nextResolve(specifier, { ...context, parentURL: import.meta.url });
  }
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (!parent?.startsWith('file:') || !(specifier.startsWith('./') || specifier.startsWith('../'))) return resolved;
  const version = new URL(parent).searchParams.get(VERSION_PARAM);
  if (version === null || !resolved.url.startsWith('file:')) return resolved;
  const url = new URL(resolved.url);
  if (url.search !== '' || url.pathname.includes('/node_modules/') || url.href.startsWith(PACKAGE_ROOT)) return resolved;
  url.searchParams.set(VERSION_PARAM, version);
  return { ...resolved, url: url.href };
}
