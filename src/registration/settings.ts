/**
 * The registration settings of a configuration (`plugin.registration.*`): whether a daemon collects, its stale and
 * expiry ages, and the store it asks for, with every problem found at once:
 * a missing store_dir or URL, a malformed URL or schema name, and settings that would do nothing with the chosen
 * backend (store_dir with store = sqlite, ...).
 */
import { join } from 'node:path';
import { checkedFlag, checkedNumber } from '../config/checked.js';
import type { ConfigView } from '../inter/config.js';
import type { RegistrationBackend } from '../inter/registration.js';
import { DEFAULT_POSTGRESQL_SCHEMA, DEFAULT_SQLITE_FILE } from './schema.js';
import { SCHEMA_NAME } from './stores/postgresql-names.js';

/** Which store to open, and where. */
export type RegistrationStoreSettings =
  | { backend: 'sqlite'; path: string }
  | { backend: 'postgresql'; url: string; schema: string }
  | { backend: 'directory'; dir: string };

const KEY = (key: string): string => `plugin.registration.${key}`;

/** The keys that belong to one backend only. */
const OWN_KEYS: Record<RegistrationBackend, readonly string[]> = {
  sqlite: ['sqlite.path'],
  postgresql: ['postgresql.url', 'postgresql.schema'],
  directory: ['store_dir'],
};

/**
 * Reads the store settings. `store` defaults to sqlite, or to directory when only `store_dir` is set (the
 * configuration of earlier versions keeps working). Returns the settings, or the problems (each naming where the
 * key was set) when there are any.
 */
export function registrationStoreSettings(config: ConfigView): { settings?: RegistrationStoreSettings; problems: string[] } {
  const problems: string[] = [];
  const where = (key: string): string => `${config.origin(KEY(key))}: ${KEY(key)}`;
  const explicit = config.has(KEY('store')) ? (config.string(KEY('store')) as RegistrationBackend) : undefined;
  const backend: RegistrationBackend = explicit ?? (config.has(KEY('store_dir')) ? 'directory' : 'sqlite');
  for (const [owner, keys] of Object.entries(OWN_KEYS)) {
    if (owner === backend) continue;
    for (const key of keys) {
      if (config.has(KEY(key))) problems.push(`${where(key)}: applies to store = ${owner} only, and the store is ${backend} (set ${KEY('store')} = ${owner}, or remove it)`);
    }
  }
  let settings: RegistrationStoreSettings | undefined;
  switch (backend) {
    case 'directory': {
      const dir = config.string(KEY('store_dir'))?.trim();
      if (!dir) problems.push(`${config.origin(KEY('store'))}: ${KEY('store')}: directory needs ${KEY('store_dir')}`);
      else settings = { backend, dir };
      break;
    }
    case 'sqlite': {
      const path = config.string(KEY('sqlite.path'))?.trim() || join(config.string('statedir') ?? '/var/lib/tscollective', DEFAULT_SQLITE_FILE);
      settings = { backend, path };
      break;
    }
    case 'postgresql': {
      const url = config.string(KEY('postgresql.url'))?.trim();
      const schema = config.string(KEY('postgresql.schema')) ?? DEFAULT_POSTGRESQL_SCHEMA;
      if (!url) problems.push(`${config.origin(KEY('store'))}: ${KEY('store')}: postgresql needs ${KEY('postgresql.url')} (postgresql://user@host:port/database)`);
      else if (!isPostgresUrl(url)) problems.push(`${where('postgresql.url')}: expected postgresql://user@host:port/database`);
      if (!SCHEMA_NAME.test(schema)) problems.push(`${where('postgresql.schema')}: ${JSON.stringify(schema)} is not a plain lower-case identifier (letters, digits and "_", at most 63)`);
      if (url && isPostgresUrl(url) && SCHEMA_NAME.test(schema)) settings = { backend, url, schema };
      break;
    }
  }
  return problems.length > 0 ? { problems } : { settings: settings!, problems };
}

/** The keys that name a store explicitly (any of them makes a daemon a collector unless activate_agent = 0). */
const STORE_KEYS = ['store', 'store_dir', 'sqlite.path', 'postgresql.url'] as const;

/** Whether the configuration names a registration store (the local `--dm registration` path reads it). */
export function storeConfigured(config: ConfigView): boolean {
  return STORE_KEYS.some((key) => config.has(KEY(key)));
}

/**
 * Whether a daemon with this configuration collects registrations (hosts the registration and registration_query
 * agents): `plugin.registration.activate_agent = 1`, or a store named explicitly. A plain node never does, so it
 * does not start keeping everyone's registrations because sqlite is the default backend.
 */
export function collectorConfigured(config: ConfigView): boolean {
  const problems: string[] = [];
  return checkedFlag(config, KEY('activate_agent'), false, problems) || storeConfigured(config);
}

/** How long a node stays active, and when it is removed: `plugin.registration.stale_after` and `expire_after`. */
export interface RegistrationAges {
  /** Seconds after its last registration a node is left out of discovery. */
  staleAfterSeconds: number;
  /** Seconds after its last registration a node is removed; undefined: never. */
  expireAfterSeconds: number | undefined;
}

/** The default stale window: 3 registration intervals (`registerinterval`), or 900 s when it is 0. */
export const DEFAULT_STALE_AFTER_SECONDS = 900;

/** Reads stale_after (default 3 x registerinterval, else 900) and expire_after; problems are added to `problems`. */
export function registrationAges(config: ConfigView, problems: string[] = []): RegistrationAges {
  // registerinterval is the daemon's own setting: its problems are reported there (src/daemon/settings.ts).
  const interval = checkedNumber(config, 'registerinterval', 0, 0, [], true);
  const staleAfterSeconds = checkedNumber(config, KEY('stale_after'), interval > 0 ? 3 * interval : DEFAULT_STALE_AFTER_SECONDS, 1, problems, true);
  const expireAfterSeconds = config.has(KEY('expire_after')) ? checkedNumber(config, KEY('expire_after'), 0, 1, problems, true) || undefined : undefined;
  return { staleAfterSeconds, expireAfterSeconds };
}

function isPostgresUrl(url: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(url)) return false;
  try {
    return new URL(url).hostname !== '' || url.includes('host=');
  } catch {
    return false;
  }
}
