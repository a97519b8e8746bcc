/** tsco's version: package.json's (`tsco --version`), read from the package this file belongs to. */
import { readFileSync } from 'node:fs';

/** Reads the version from the package.json at `url`; '0.0.0' when it cannot be read. */
export function packageVersion(url: URL = new URL('../../../../package.json', import.meta.url)): string {
  try {
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
